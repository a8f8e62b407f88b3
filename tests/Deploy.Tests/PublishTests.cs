using IsoCluster.TestSupport;

namespace IsoCluster.Deploy.Tests;

/// <summary>
/// The container images are built with <c>dotnet publish</c> (no container engine or registry is reachable here, so
/// the publish itself is what can be checked): both programs must publish cleanly in Release.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class PublishTests
{
    [Theory]
    [InlineData("src/Gateway/IsoCluster.Gateway.csproj", "IsoCluster.Gateway.dll")]
    [InlineData("src/Silo/IsoCluster.Silo.csproj", "IsoCluster.Silo.dll")]
    public async Task Publish_Release_ProducesTheProgram(string project, string program)
    {
        var output = Directory.CreateTempSubdirectory("isocluster-publish-");
        try
        {
            var result = await ToolProcess.RunAsync(
                "dotnet",
                ["publish", Path.Combine(Repository.Root, project), "-c", "Release", "-o", output.FullName, "--nologo"],
                TimeSpan.FromMinutes(5),
                CancellationToken.None);

            Assert.True(result.ExitCode == 0, $"dotnet publish {project} failed:\n{result.StandardOutput}\n{result.StandardError}");
            Assert.True(File.Exists(Path.Combine(output.FullName, program)));
        }
        finally
        {
            output.Delete(recursive: true);
        }
    }
}
