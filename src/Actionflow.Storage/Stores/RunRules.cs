using System.Linq.Expressions;
using Actionflow.Core.Domain;
using Actionflow.Storage.Conversions;

namespace Actionflow.Storage.Stores;

/// <summary>
/// <see cref="RunLifecycle"/>'s table as the stores' conditions: a transition may touch a row when its status is one the
/// table lists for that transition and the row's guard holds. Each guard is written here once, for both providers.
/// </summary>
internal static class RunRules
{
    /// <summary>The rows <paramref name="transitions"/> may take now, as an EF predicate.</summary>
    /// <param name="dueBy">Retries and waits due by then count as due (<see cref="RunGuard.NextAttemptDue"/>).</param>
    /// <param name="workerId">The worker asking (<see cref="RunGuard.HeldByCaller"/>).</param>
    public static Expression<Func<ActionRun, bool>> Allowing(DateTime now, DateTime dueBy, string? workerId, params RunTransition[] transitions)
    {
        var run = Expression.Parameter(typeof(ActionRun), "r");
        // Read through an object, as a closure would be: EF sends the times and worker as parameters, so the SQL text
        // (and its prepared plan) stays the same from call to call; statuses are constants, written into it.
        var facts = Expression.Constant(new GuardValues(now, dueBy, workerId));
        Expression? any = null;
        foreach (var rule in RunLifecycle.Rules.Where(r => transitions.Contains(r.Transition)))
        {
            var status = Expression.Equal(Expression.Property(run, nameof(ActionRun.Status)), Expression.Constant(rule.From));
            var guard = Guard(rule.Guard, run, facts);
            var term = guard is null ? status : Expression.AndAlso(status, guard);
            any = any is null ? term : Expression.OrElse(any, term);
        }

        return Expression.Lambda<Func<ActionRun, bool>>(any ?? Expression.Constant(false), run);
    }

    /// <summary>What <see cref="RunTransition.Cancel"/> writes: canceled, why and when, no lease, no next attempt.</summary>
    public static Action<Microsoft.EntityFrameworkCore.Query.UpdateSettersBuilder<ActionRun>> Canceled(string reason, DateTime now) =>
        s => s.SetProperty(r => r.Status, RunLifecycle.To(RunTransition.Cancel))
            .SetProperty(r => r.ErrorReason, reason)
            .SetProperty(r => r.FinishedAt, now)
            .SetProperty(r => r.LeaseUntil, (DateTime?)null)
            .SetProperty(r => r.NextAttemptAt, (DateTime?)null);

    /// <summary>What <see cref="RunTransition.Reopen"/> writes: pending again, with what <see cref="RunLifecycle.Clears"/> says cleared.</summary>
    public static Action<Microsoft.EntityFrameworkCore.Query.UpdateSettersBuilder<ActionRun>> Reopened()
    {
        var clears = RunLifecycle.Clears(RunTransition.Reopen);
        return s =>
        {
            s.SetProperty(r => r.Status, RunLifecycle.To(RunTransition.Reopen));
            if (clears.HasFlag(RunFields.Output))
            {
                s.SetProperty(r => r.Output, (System.Text.Json.Nodes.JsonObject?)null);
            }

            if (clears.HasFlag(RunFields.Error))
            {
                s.SetProperty(r => r.ErrorReason, (string?)null).SetProperty(r => r.ErrorType, (string?)null);
            }

            if (clears.HasFlag(RunFields.FinishedAt))
            {
                s.SetProperty(r => r.FinishedAt, (DateTime?)null);
            }

            if (clears.HasFlag(RunFields.Lease))
            {
                s.SetProperty(r => r.LeaseUntil, (DateTime?)null);
            }

            if (clears.HasFlag(RunFields.Worker))
            {
                s.SetProperty(r => r.WorkerId, (string?)null);
            }

            if (clears.HasFlag(RunFields.NextAttempt))
            {
                s.SetProperty(r => r.NextAttemptAt, (DateTime?)null);
            }

            if (clears.HasFlag(RunFields.WaitedUntil))
            {
                s.SetProperty(r => r.WaitedUntil, (DateTime?)null);
            }

            if (clears.HasFlag(RunFields.Admission))
            {
                s.SetProperty(r => r.AdmittedAt, (DateTime?)null);
            }
        };
    }

    /// <summary>The statuses <paramref name="transition"/> applies to, as a SQL list of literals (<c>'a', 'b'</c>).</summary>
    public static string SqlStatuses(RunTransition transition) => SqlList(RunLifecycle.From(transition));

    public static string SqlList<TEnum>(IEnumerable<TEnum> values) where TEnum : struct, Enum =>
        string.Join(", ", values.Select(v => $"'{EnumNames.ToDatabase(v)}'"));

    private static BinaryExpression? Guard(RunGuard guard, ParameterExpression run, ConstantExpression facts) => guard switch
    {
        RunGuard.None => null,
        // Retries are due a little early too: the relay's wake-up and the clocks of two workers are not exact.
        RunGuard.NextAttemptDue => NullOrAtMost(Expression.Property(run, nameof(ActionRun.NextAttemptAt)), Expression.Property(facts, nameof(GuardValues.DueBy))),
        RunGuard.LeaseExpired => NullOrAtMost(Expression.Property(run, nameof(ActionRun.LeaseUntil)), Expression.Property(facts, nameof(GuardValues.Now))),
        RunGuard.HeldByCaller => Expression.Equal(Expression.Property(run, nameof(ActionRun.WorkerId)), Expression.Property(facts, nameof(GuardValues.WorkerId))),
        _ => throw new ArgumentOutOfRangeException(nameof(guard), guard, null),
    };

    private static BinaryExpression NullOrAtMost(MemberExpression value, MemberExpression limit) =>
        Expression.OrElse(Expression.Equal(value, Expression.Constant(null, typeof(DateTime?))), Expression.LessThanOrEqual(value, limit));

    private sealed class GuardValues(DateTime now, DateTime dueBy, string? workerId)
    {
        public DateTime? Now { get; } = now;

        public DateTime? DueBy { get; } = dueBy;

        public string? WorkerId { get; } = workerId;
    }
}
