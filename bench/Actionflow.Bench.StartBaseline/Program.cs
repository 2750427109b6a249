// The same builder as the host (Program.cs of Actionflow.Host), one endpoint, nothing else.
var app = WebApplication.CreateBuilder(args).Build();
app.MapGet("/health/ready", () => Results.Text("ready"));
await app.RunAsync();
