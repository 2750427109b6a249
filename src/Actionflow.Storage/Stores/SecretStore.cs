using System.Text.Json;
using System.Text.Json.Nodes;
using Actionflow.Core.Domain;
using Actionflow.Core.Secrets;
using Microsoft.EntityFrameworkCore;

namespace Actionflow.Storage.Stores;

/// <summary>A project's secrets in the <c>secrets</c> table, sealed under the key ring's current key.</summary>
public sealed class SecretStore(IDbContextFactory<ActionflowDbContext> contexts, SecretKeyRing keys, TimeProvider time) : ISecretSource
{
    public async Task<IReadOnlyDictionary<string, string>> OpenAsync(long projectId, IReadOnlyCollection<string> names, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(names);
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var rows = await db.Secrets.AsNoTracking().Where(s => s.ProjectId == projectId && names.Contains(s.Name)).ToListAsync(cancellationToken);
        return rows.ToDictionary(r => r.Name, r => SecretCipher.Open(keys, r.SealedValue, SecretCipher.SecretScope(projectId, r.Name)), StringComparer.Ordinal);
    }

    /// <summary>Creates or replaces a secret; returns the row (its sealed value, never the value) and whether it was new.</summary>
    public async Task<(ProjectSecret Secret, bool Created)> SetAsync(long projectId, string name, string value, string? description, CancellationToken cancellationToken)
    {
        var key = keys.Current;
        var now = time.GetUtcNow().UtcDateTime;
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var row = await db.Secrets.FirstOrDefaultAsync(s => s.ProjectId == projectId && s.Name == name, cancellationToken);
        var created = row is null;
        if (row is null)
        {
            row = new ProjectSecret { ProjectId = projectId, Name = name, SealedValue = "", KeyId = key.Id, TimeCreated = now };
            db.Secrets.Add(row);
        }

        row.SealedValue = SecretCipher.Seal(key, value, SecretCipher.SecretScope(projectId, name));
        row.KeyId = key.Id;
        row.Description = description ?? row.Description;
        row.TimeUpdated = now;
        await db.SaveChangesAsync(cancellationToken);
        return (row, created);
    }

    public async Task<IReadOnlyList<ProjectSecret>> ListAsync(long projectId, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        return await db.Secrets.AsNoTracking().Where(s => s.ProjectId == projectId).OrderBy(s => s.Name).ToListAsync(cancellationToken);
    }

    public async Task<bool> DeleteAsync(long projectId, string name, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        return await db.Secrets.Where(s => s.ProjectId == projectId && s.Name == name).ExecuteDeleteAsync(cancellationToken) > 0;
    }
}

/// <summary>
/// The start-up pass over stored secrets, run with the migrations: refuses to start on a database whose secrets no key
/// here opens; seals <c>[Secret]</c> config fields stored in clear before secrets were encrypted (the Webhook's
/// <c>secret</c> and header values); and re-seals under the current key what is sealed under a previous one (rotation).
/// </summary>
public static class SecretMaintenance
{
    public sealed record Report(int FieldsSealed, int Resealed);

    public static async Task<Report> RunAsync(ActionflowDbContext db, SecretKeyRing keys, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(keys);
        var secretFields = await SecretFieldsByKindAsync(db, cancellationToken);
        var actions = await db.Actions.Where(a => secretFields.Keys.Contains(a.Kind)).ToListAsync(cancellationToken);
        var anySecret = await db.Secrets.AnyAsync(cancellationToken)
            || actions.Any(a => SecretValues(a.ConfigData, secretFields[a.Kind]).Any(v => SecretCipher.IsSealed(v.Value) || v.Value.Length > 0));
        if (!anySecret)
        {
            return new Report(0, 0);
        }

        if (!keys.CanSeal)
        {
            throw new InvalidOperationException(
                $"This database holds secrets, and {SecretKeySettings.KeySetting} is not set: set it to the base64 256-bit key they were stored with "
                + "(see README, Secrets). Actionflow does not start without it.");
        }

        var current = keys.Current;
        var sealedFields = 0;
        var resealed = 0;
        foreach (var action in actions)
        {
            var config = (JsonObject)action.ConfigData.DeepClone();
            var changed = false;
            foreach (var (owner, key, value) in SecretValues(config, secretFields[action.Kind]).ToList())
            {
                var scope = SecretCipher.ConfigScope(action.ProjectId);
                string? replacement = null;
                if (!SecretCipher.IsSealed(value))
                {
                    replacement = SecretCipher.Seal(current, value, scope);
                    sealedFields++;
                }
                else if (SecretCipher.KeyIdOf(value) != current.Id && keys.Find(SecretCipher.KeyIdOf(value)!) is not null)
                {
                    replacement = SecretCipher.Seal(current, SecretCipher.Open(keys, value, scope), scope);
                    resealed++;
                }

                if (replacement is not null)
                {
                    owner[key] = replacement;
                    changed = true;
                }
            }

            if (changed)
            {
                action.ConfigData = config;
            }
        }

        var stale = await db.Secrets.Where(s => s.KeyId != current.Id).ToListAsync(cancellationToken);
        var unopenable = stale.Where(s => keys.Find(s.KeyId) is null).Select(s => s.KeyId).Distinct().ToList();
        if (unopenable.Count > 0)
        {
            throw new InvalidOperationException(
                $"This database holds secrets sealed under key(s) {string.Join(", ", unopenable)}, and the configured {SecretKeySettings.KeySetting} is {current.Id}: "
                + $"set {SecretKeySettings.KeySetting} to the key they were stored with, or add it to {SecretKeySettings.PreviousKeysSetting} to rotate to the new one.");
        }

        foreach (var secret in stale)
        {
            var scope = SecretCipher.SecretScope(secret.ProjectId, secret.Name);
            secret.SealedValue = SecretCipher.Seal(current, SecretCipher.Open(keys, secret.SealedValue, scope), scope);
            secret.KeyId = current.Id;
            resealed++;
        }

        await db.SaveChangesAsync(cancellationToken);
        return new Report(sealedFields, resealed);
    }

    /// <summary>Per template kind, the config fields its schema marks <c>writeOnly</c> (and maps whose values are).</summary>
    private static async Task<Dictionary<string, (HashSet<string> Fields, HashSet<string> Maps)>> SecretFieldsByKindAsync(
        ActionflowDbContext db, CancellationToken cancellationToken)
    {
        var result = new Dictionary<string, (HashSet<string>, HashSet<string>)>(StringComparer.Ordinal);
        foreach (var template in await db.ActionTemplates.AsNoTracking().ToListAsync(cancellationToken))
        {
            var (fields, maps) = SecretFields(template.ConfigSchema);
            if (fields.Count + maps.Count > 0)
            {
                result[template.Kind] = (fields, maps);
            }
        }

        return result;
    }

    public static (HashSet<string> Fields, HashSet<string> Maps) SecretFields(JsonObject schema)
    {
        ArgumentNullException.ThrowIfNull(schema);
        var fields = new HashSet<string>(StringComparer.Ordinal);
        var maps = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, property) in schema["properties"] as JsonObject ?? [])
        {
            if (property is JsonObject p && WriteOnly(p))
            {
                fields.Add(name);
            }
            else if (property is JsonObject m && m["additionalProperties"] is JsonObject values && WriteOnly(values))
            {
                maps.Add(name);
            }
        }

        return (fields, maps);
    }

    private static bool WriteOnly(JsonObject schema) => schema["writeOnly"] is JsonValue w && w.GetValueKind() == JsonValueKind.True;

    private static IEnumerable<(JsonObject Owner, string Key, string Value)> SecretValues(JsonObject config, (HashSet<string> Fields, HashSet<string> Maps) secret)
    {
        foreach (var name in secret.Fields)
        {
            if (config[name] is JsonValue v && v.GetValueKind() == JsonValueKind.String)
            {
                yield return (config, name, v.GetValue<string>());
            }
        }

        foreach (var name in secret.Maps)
        {
            if (config[name] is JsonObject map)
            {
                foreach (var (key, value) in map)
                {
                    if (value is JsonValue v && v.GetValueKind() == JsonValueKind.String)
                    {
                        yield return (map, key, v.GetValue<string>());
                    }
                }
            }
        }
    }
}
