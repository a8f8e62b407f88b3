namespace IsoCluster.Grains.SourceIso;

/// <summary>
/// Owns one upstream ISO (keyed by <see cref="IsoSource.GrainKey"/>): its current version, length and validators.
/// Chunks of each version are cached by <see cref="IIsoChunkGrain"/> activations spread over the silos.
/// </summary>
[Alias("IsoCluster.ISourceIsoGrain")]
public interface ISourceIsoGrain : IGrainWithStringKey
{
    /// <summary>The current version, read from the upstream at most once per revalidation interval.</summary>
    [Alias("GetVersion")]
    ValueTask<IsoVersionResult> GetVersionAsync(CancellationToken cancellationToken = default);

    /// <summary>Forgets <paramref name="versionId"/> after a chunk fetch found the upstream changed.</summary>
    [Alias("Invalidate")]
    Task InvalidateAsync(string versionId);
}
