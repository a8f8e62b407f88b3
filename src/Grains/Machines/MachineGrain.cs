using System.Security.Cryptography;
using IsoCluster.Grains.Admin;
using IsoCluster.Grains.Hardware;
using IsoCluster.Grains.SourceIso;
using IsoCluster.Grains.Upstream;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IsoCluster.Grains.Machines;

/// <summary>
/// One machine's boot plan, keyed by its normalized MAC. The plan is rebuilt only when the machine's Hardware
/// revision changes, so the per-request cost is one in-memory Hardware lookup; the grain holds a few hundred bytes,
/// which keeps 100,000 machines cheap.
/// </summary>
/// <remarks>
/// A machine whose Hardware disappears (deleted, or edited to another MAC) gets 404 for its next boot, but a boot
/// already under way (a pinned version read within <see cref="IsoOptions.BootSessionIdle"/>) finishes on the plan it
/// started with: cutting a BMC off half-way through its reads helps nobody.
/// </remarks>
internal sealed partial class MachineGrain : Grain, IMachineGrain
{
    private readonly IHardwareSource _hardware;
    private readonly BootOptions _bootOptions;
    private readonly IsoOptions _isoOptions;
    private readonly UpstreamUrlPolicy _policy;
    private readonly TimeProvider _time;
    private readonly BootMetrics _bootMetrics;
    private readonly ILogger<MachineGrain> _logger;
    private readonly MacAddress _mac;
    private readonly string _macText;
    private string? _revision;
    private string? _hardwareName;
    private bool _keptAfterRemoval;
    private BootPlanResult _plan = new(BootPlanStatus.HardwareNotFound, null, null);
    private byte[]? _kernelParams;
    private string _patchTag = "";
    private IsoVersion? _pinnedVersion;
    private long _lastReadAt;

    public MachineGrain(
        IHardwareSource hardware,
        IOptions<BootOptions> bootOptions,
        IOptions<IsoOptions> isoOptions,
        UpstreamUrlPolicy policy,
        TimeProvider time,
        BootMetrics bootMetrics,
        ILogger<MachineGrain> logger)
    {
        _hardware = hardware;
        _bootOptions = bootOptions.Value;
        _isoOptions = isoOptions.Value;
        _policy = policy;
        _time = time;
        _bootMetrics = bootMetrics;
        _logger = logger;
        _macText = this.GetPrimaryKeyString();
        _mac = MacAddress.Parse(_macText);
    }

    public async ValueTask<BootPlanResult> GetBootPlanAsync(string? sourceIsoOverride, CancellationToken cancellationToken = default)
    {
        var lookup = await _hardware.FindAsync(_mac, cancellationToken);
        if (lookup.Machine is null)
        {
            if (lookup.Status == HardwareLookupStatus.NotFound && BootInProgress(sourceIsoOverride) is { } pinned)
            {
                if (!_keptAfterRemoval)
                {
                    _keptAfterRemoval = true;
                    LogKeptForBootInProgress(_logger, _macText, _hardwareName ?? "", _isoOptions.BootSessionIdle);
                }

                _lastReadAt = _time.GetTimestamp();
                return pinned;
            }

            // Any client can name any of 2^48 MACs; an unknown one must not leave an activation behind. Only a MAC
            // that had a plan and is still reading gets past this, and only until it goes idle. A boot not yet ended stays
            // on record until it does.
            if (!HasBootInProgress)
            {
                DeactivateOnIdle();
            }

            _revision = null;
            _pinnedVersion = null;
            _keptAfterRemoval = false;
            return lookup.Status == HardwareLookupStatus.Unavailable
                ? new BootPlanResult(BootPlanStatus.HardwareUnavailable, null, lookup.Reason ?? "the Hardware source is unavailable")
                : new BootPlanResult(BootPlanStatus.HardwareNotFound, null, lookup.Reason ?? $"no Hardware has an interface with MAC {_mac}");
        }

        _keptAfterRemoval = false;
        if (lookup.Machine.Revision != _revision)
        {
            _plan = BuildPlan(lookup.Machine);
            _revision = lookup.Machine.Revision;
            _hardwareName = lookup.Machine.HardwareName;
        }

        var planned = sourceIsoOverride is null ? _plan : WithClientSource(sourceIsoOverride);
        return planned.Plan is { } plan ? await WithVersionAsync(plan, cancellationToken) : planned;
    }

    public Task ReleaseVersionAsync(string versionId)
    {
        if (_pinnedVersion?.Id == versionId)
        {
            _pinnedVersion = null;
        }

        return Task.CompletedTask;
    }

    public async ValueTask<AdminResult<MachineExplanation>> ExplainAsync(CancellationToken cancellationToken = default)
    {
        var lookup = await _hardware.FindAsync(_mac, cancellationToken);
        if (lookup.Machine is not { } machine)
        {
            if (_revision is null)
            {
                DeactivateOnIdle();
            }

            return lookup.Status == HardwareLookupStatus.Unavailable
                ? AdminResult.Fail<MachineExplanation>(AdminStatus.Unavailable, lookup.Reason ?? "the Hardware source is unavailable")
                : AdminResult.Fail<MachineExplanation>(AdminStatus.NotFound, lookup.Reason ?? $"no Hardware has an interface with MAC {_mac}");
        }

        // The same builder and the same checks as BuildPlan, so the line explained is the line a boot is served.
        var built = KernelParams.Build(machine, _bootOptions);
        var magicLength = _isoOptions.MagicString.Length;
        var error = built.Error;
        if (built.IsSuccess && built.CommandLine.Length > magicLength)
        {
            error = TooLongReason(built.CommandLine.Length);
        }

        var nic = machine.Interface;
        var (sourceText, sourceFrom) = nic.SourceIso is { } own
            ? (own, $"Hardware spec.interfaces[{nic.Index}].isoboot.sourceISO")
            : (_isoOptions.UpstreamUrl, "--iso-upstream-url");
        string? sourceIso = null;
        if (string.IsNullOrEmpty(sourceText))
        {
            error ??= NoSourceReason(machine);
        }
        else if (UpstreamUrlPolicy.TryParseOperatorSource(sourceText, out var sourceUrl, out var sourceReason))
        {
            sourceIso = IsoSource.ForDisplay(sourceUrl);
        }
        else
        {
            error ??= $"no usable source ISO for {_mac} (Hardware '{machine.HardwareName}'): {sourceReason}";
        }

        return AdminResult.Ok(new MachineExplanation(
            _macText,
            machine.Namespace is { Length: > 0 } ns ? $"{ns}/{machine.HardwareName}" : machine.HardwareName,
            sourceIso,
            sourceFrom,
            error is null ? built.CommandLine : null,
            built.Parts,
            magicLength,
            error));
    }

    // A boot is a run of reads with no gap longer than BootSessionIdle; all of it reads one upstream version, so
    // a new upstream ISO reaches a machine at its next boot, never half-way through one.
    private async ValueTask<BootPlanResult> WithVersionAsync(BootPlan plan, CancellationToken cancellationToken)
    {
        var inSameBoot = _pinnedVersion is not null
            && _pinnedVersion.Source == plan.Source
            && _time.GetElapsedTime(_lastReadAt) < _isoOptions.BootSessionIdle;
        if (!inSameBoot)
        {
            var current = await GrainFactory.GetGrain<ISourceIsoGrain>(plan.Source.GrainKey).GetVersionAsync(cancellationToken);
            if (current.Version is null)
            {
                return new BootPlanResult(BootPlanStatus.UpstreamFailed, plan, current.Reason, null, current.Status);
            }

            _pinnedVersion = current.Version;
        }

        _lastReadAt = _time.GetTimestamp();
        return new BootPlanResult(BootPlanStatus.Ready, plan, null, _pinnedVersion);
    }

    // The boot this machine is in the middle of, if any: the plan it had, the same source, and a read of its pinned
    // version no longer ago than BootSessionIdle. A different source (another ?sourceISO=) would be a new boot.
    private BootPlanResult? BootInProgress(string? sourceIsoOverride)
    {
        if (_revision is null || _pinnedVersion is not { } pinned || _time.GetElapsedTime(_lastReadAt) >= _isoOptions.BootSessionIdle)
        {
            return null;
        }

        var planned = sourceIsoOverride is null ? _plan : WithClientSource(sourceIsoOverride);
        return planned.Plan is { } plan && plan.Source == pinned.Source
            ? new BootPlanResult(BootPlanStatus.Ready, plan, null, pinned)
            : null;
    }

    // The query parameter replaces only the source; a broken command line stays broken whatever the source. Only
    // http(s) is parsed here, whatever the allowlist says: a client may never name a local file (a path or file: URL).
    private BootPlanResult WithClientSource(string sourceIsoOverride)
    {
        if (_kernelParams is null)
        {
            return _plan;
        }

        if (!UpstreamUrlPolicy.TryParseHttpUrl(sourceIsoOverride, out var url, out var reason) || !_policy.IsAllowedForClient(url))
        {
            return new BootPlanResult(
                BootPlanStatus.SourceNotAllowed,
                null,
                $"sourceISO '{IsoSource.ForDisplay(sourceIsoOverride)}' is not allowed: {(reason.Length > 0 ? reason : "it matches no --iso-source-allow prefix")}");
        }

        return new BootPlanResult(BootPlanStatus.Ready, new BootPlan(new IsoSource(sourceIsoOverride, IsoSourceOrigin.Client), _kernelParams, _patchTag), null);
    }

    // Sets _kernelParams only when they can be written over the magic string, whatever the source turns out to be.
    private BootPlanResult BuildPlan(MachineRecord machine)
    {
        _kernelParams = null;
        var built = KernelParams.Build(machine, _bootOptions);
        if (!built.IsSuccess)
        {
            LogInvalidKernelParams(_logger, _macText, machine.HardwareName, built.Error);
            return new BootPlanResult(BootPlanStatus.InvalidKernelParams, null, built.Error);
        }

        var kernelParams = built.ToAscii();
        if (kernelParams.Length > _isoOptions.MagicString.Length)
        {
            var reason = TooLongReason(kernelParams.Length);
            LogKernelParamsTooLong(_logger, _macText, machine.HardwareName, kernelParams.Length, _isoOptions.MagicString.Length);
            return new BootPlanResult(BootPlanStatus.KernelParamsTooLong, null, reason);
        }

        _kernelParams = kernelParams;
        _patchTag = Convert.ToHexStringLower(SHA256.HashData(kernelParams).AsSpan(0, 6));
        var sourceUrl = machine.Interface.SourceIso ?? _isoOptions.UpstreamUrl;
        if (string.IsNullOrEmpty(sourceUrl))
        {
            return new BootPlanResult(BootPlanStatus.NoSourceIso, null, NoSourceReason(machine));
        }

        // Operator sources may be local files, resolved once here to the canonical file URL that keys their grain.
        if (!UpstreamUrlPolicy.TryParseOperatorSource(sourceUrl, out var url, out var reason2))
        {
            return new BootPlanResult(
                BootPlanStatus.NoSourceIso,
                null,
                $"no usable source ISO for {_mac} (Hardware '{machine.HardwareName}'): {reason2}");
        }

        var source = new IsoSource(url, IsoSourceOrigin.Operator);
        LogPlanBuilt(_logger, _macText, machine.HardwareName, machine.Revision, source.DisplayUrl);
        return new BootPlanResult(BootPlanStatus.Ready, new BootPlan(source, kernelParams, _patchTag), null);
    }

    private string TooLongReason(int length) =>
        $"{_mac}: kernel parameters are {length} bytes, longer than the {_isoOptions.MagicString.Length}-byte magic string; they are never truncated";

    private string NoSourceReason(MachineRecord machine) =>
        $"no source ISO for {_mac}: Hardware '{machine.HardwareName}' spec.interfaces[{machine.Interface.Index}].isoboot.sourceISO is not set and there is no --iso-upstream-url";

    [LoggerMessage(EventId = 1200, Level = LogLevel.Information, Message = "Boot plan for {Mac} (Hardware {HardwareName}, revision {Revision}) built: source {SourceUrl}")]
    private static partial void LogPlanBuilt(ILogger logger, string mac, string hardwareName, string revision, string sourceUrl);

    [LoggerMessage(EventId = 1203, Level = LogLevel.Information, Message = "Hardware for {Mac} ({HardwareName}) is gone; the boot in progress keeps its plan until it has been idle for {BootSessionIdle}, then the MAC is unknown")]
    private static partial void LogKeptForBootInProgress(ILogger logger, string mac, string hardwareName, TimeSpan bootSessionIdle);

    [LoggerMessage(EventId = 1201, Level = LogLevel.Error, Message = "Kernel parameters for {Mac} (Hardware {HardwareName}) refused: {Reason}")]
    private static partial void LogInvalidKernelParams(ILogger logger, string mac, string hardwareName, string? reason);

    [LoggerMessage(EventId = 1202, Level = LogLevel.Error, Message = "Kernel parameters for {Mac} (Hardware {HardwareName}) are {Length} bytes, longer than the {MagicLength}-byte magic string")]
    private static partial void LogKernelParamsTooLong(ILogger logger, string mac, string hardwareName, int length, int magicLength);
}
