namespace Actionflow.Storage;

/// <summary>Which database the storage module talks to; registered as a singleton so other modules can adapt.</summary>
public enum StorageProvider
{
    Postgres,
    Sqlite,
}
