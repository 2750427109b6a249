using System.Text.Json.Nodes;
using Actionflow.Core.Abstractions;
using Actionflow.Core.Domain;
using Microsoft.EntityFrameworkCore;

namespace Actionflow.Storage.Stores;

public sealed class TemplateStore(IDbContextFactory<ActionflowDbContext> contextFactory) : ITemplateStore
{
    private const int Attempts = 3;

    public async Task<TemplateSyncResult> SyncAsync(IReadOnlyList<ActionTemplate> declared, DateTime now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(declared);
        var duplicate = declared.GroupBy(t => t.Kind, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new ArgumentException($"template kind '{duplicate.Key}' is declared {duplicate.Count()} times", nameof(declared));
        }

        // Several workers start at once and sync the same templates: the one that loses the insert race re-reads and retries.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await SyncOnceAsync(declared, now, cancellationToken);
            }
            catch (DbUpdateException ex) when (attempt < Attempts && DbErrors.IsUniqueViolation(ex))
            {
            }
        }
    }

    private async Task<TemplateSyncResult> SyncOnceAsync(IReadOnlyList<ActionTemplate> declared, DateTime now, CancellationToken cancellationToken)
    {
        await using var db = await contextFactory.CreateDbContextAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var stored = await db.ActionTemplates.ToDictionaryAsync(t => t.Kind, StringComparer.Ordinal, cancellationToken);

        int created = 0, updated = 0, markedUnavailable = 0;
        foreach (var template in declared)
        {
            if (!stored.TryGetValue(template.Kind, out var row))
            {
                db.ActionTemplates.Add(new ActionTemplate
                {
                    Kind = template.Kind,
                    PublicName = template.PublicName,
                    Description = template.Description,
                    Icon = template.Icon,
                    Category = template.Category,
                    TriggerData = template.TriggerData.DeepClone().AsObject(),
                    ConditionData = template.ConditionData.DeepClone().AsObject(),
                    CompletionConditionData = template.CompletionConditionData.DeepClone().AsObject(),
                    ConfigSchema = template.ConfigSchema.DeepClone().AsObject(),
                    IsAvailable = true,
                    TimeCreated = now,
                    TimeUpdated = now,
                });
                created++;
            }
            else if (!row.IsAvailable || Differs(row, template))
            {
                row.PublicName = template.PublicName;
                row.Description = template.Description;
                row.Icon = template.Icon;
                row.Category = template.Category;
                row.TriggerData = template.TriggerData.DeepClone().AsObject();
                row.ConditionData = template.ConditionData.DeepClone().AsObject();
                row.CompletionConditionData = template.CompletionConditionData.DeepClone().AsObject();
                row.ConfigSchema = template.ConfigSchema.DeepClone().AsObject();
                row.IsAvailable = true;
                row.TimeUpdated = now;
                updated++;
            }
        }

        var declaredKinds = declared.Select(t => t.Kind).ToHashSet(StringComparer.Ordinal);
        foreach (var row in stored.Values.Where(t => t.IsAvailable && !declaredKinds.Contains(t.Kind)))
        {
            row.IsAvailable = false;
            row.TimeUpdated = now;
            markedUnavailable++;
        }

        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return new TemplateSyncResult(created, updated, markedUnavailable);
    }

    private static bool Differs(ActionTemplate stored, ActionTemplate declared) =>
        !string.Equals(stored.PublicName, declared.PublicName, StringComparison.Ordinal)
        || !string.Equals(stored.Description, declared.Description, StringComparison.Ordinal)
        || !string.Equals(stored.Icon, declared.Icon, StringComparison.Ordinal)
        || !string.Equals(stored.Category, declared.Category, StringComparison.Ordinal)
        || !JsonNode.DeepEquals(stored.TriggerData, declared.TriggerData)
        || !JsonNode.DeepEquals(stored.ConditionData, declared.ConditionData)
        || !JsonNode.DeepEquals(stored.CompletionConditionData, declared.CompletionConditionData)
        || !JsonNode.DeepEquals(stored.ConfigSchema, declared.ConfigSchema);
}
