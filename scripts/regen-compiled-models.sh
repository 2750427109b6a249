#!/usr/bin/env bash
# Regenerates the EF Core compiled models of both contexts (src/Actionflow.Storage/CompiledModels/{Postgres,Sqlite}).
# Run it after every change to the model (an entity, a configuration class, a conversion), after adding the
# migrations: the contexts run on these generated files (found through their [assembly: DbContextModel] attributes),
# and CompiledModelTests fails while they differ from the model the configuration builds.
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."

dotnet tool restore >/dev/null
# Delete first: files of removed entity types go too, and a stale model that no longer compiles cannot block the build
# the tool needs (nothing references the generated types by name).
rm -rf src/Actionflow.Storage/CompiledModels
dotnet build src/Actionflow.Storage -nologo -v quiet
for provider in Postgres Sqlite; do
  dotnet ef dbcontext optimize --no-build -p src/Actionflow.Storage -s src/Actionflow.Storage \
    -c "${provider}ActionflowDbContext" -o "CompiledModels/${provider}" -n "Actionflow.Storage.CompiledModels.${provider}"
done
echo "compiled models regenerated; check with: dotnet test tests/Actionflow.Storage.Tests --filter FullyQualifiedName~CompiledModelTests"
