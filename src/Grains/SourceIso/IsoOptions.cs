namespace IsoCluster.Grains.SourceIso;

/// <summary>Which ISOs are served and how they are patched (configuration section <c>Iso</c>).</summary>
public sealed class IsoOptions
{
    /// <summary>The configuration section these options bind to.</summary>
    public const string SectionName = "Iso";

    /// <summary>
    /// The 1024-character placeholder that HookOS ISOs carry in their boot loader configuration; every occurrence
    /// is replaced by a machine's kernel parameters padded with spaces to the same length.
    /// </summary>
    public const string HookOsMagicString =
        "464vn90e7rbj08xbwdjejmdf4it17c5zfzjyfhthbh19eij201hjgit021bmpdb9ctrc87x2ymc8e7icu4ffi15x1hah9iyaiz38ckyap8hwx2vt5rm44ixv4hau8iw718q5yd019um5dt2xpqqa2rjtdypzr5v1gun8un110hhwp8cex7pqrh2ivh0ynpm4zkkwc8wcn367zyethzy7q8hzudyeyzx3cgmxqbkh825gcak7kxzjbgjajwizryv7ec1xm2h0hh7pz29qmvtgfjj1vphpgq1zcbiiehv52wrjy9yq473d9t1rvryy6929nk435hfx55du3ih05kn5tju3vijreru1p6knc988d4gfdz28eragvryq5x8aibe5trxd0t6t7jwxkde34v6pj1khmp50k6qqj3nzgcfzabtgqkmeqhdedbvwf3byfdma4nkv3rcxugaj2d0ru30pa2fqadjqrtjnv8bu52xzxv7irbhyvygygxu1nt5z4fh9w1vwbdcmagep26d298zknykf2e88kumt59ab7nq79d8amnhhvbexgh48e8qc61vq2e9qkihzt1twk1ijfgw70nwizai15iqyted2dt9gfmf2gg7amzufre79hwqkddc1cd935ywacnkrnak6r7xzcz7zbmq3kt04u2hg1iuupid8rt4nyrju51e6uejb2ruu36g9aibmz3hnmvazptu8x5tyxk820g2cdpxjdij766bt2n3djur7v623a2v44juyfgz80ekgfb9hkibpxh3zgknw8a34t4jifhf116x15cei9hwch0fye3xyq0acuym8uhitu5evc4rag3ui0fny3qg4kju7zkfyy8hwh537urd5uixkzwu5bdvafz4jmv7imypj543xg5em8jk8cgk7c4504xdd5e4e71ihaumt6u5u2t1w7um92fepzae8p0vq93wdrd1756npu1pziiur1payc7kmdwyxg3hj5n4phxbc29x0tcddamjrwt260b0w";

    /// <summary>The default source ISO URL (<c>--iso-upstream-url</c>), used when Hardware names none. Default: none.</summary>
    public string? UpstreamUrl { get; set; }

    /// <summary>
    /// URL prefixes a client may name with <c>?sourceISO=</c> (<c>--iso-source-allow</c>, repeatable).
    /// Default: empty, so the query parameter is always refused.
    /// </summary>
    public IList<string> SourceAllow { get; } = [];

    /// <summary>
    /// IP addresses and CIDR blocks (<c>--iso-source-allow-address</c>, repeatable) that the host of a <c>?sourceISO=</c>
    /// URL or of one of its redirects may resolve to although they are not public: loopback, link-local, metadata,
    /// private and reserved addresses are otherwise never connected to for a client. An <see cref="SourceAllow"/> prefix
    /// written with an IP address allows that address for itself. Operator sources are not checked. Default: empty.
    /// </summary>
    public IList<string> SourceAllowAddress { get; } = [];

    /// <summary>The placeholder replaced by kernel parameters (<c>--iso-patch-magic-string</c>). Default: HookOS's.</summary>
    public string MagicString { get; set; } = HookOsMagicString;

    /// <summary>
    /// How long an upstream ISO's length and validators are trusted before they are read again
    /// (<c>--iso-revalidate-interval</c>). Default: 30 s.
    /// </summary>
    public TimeSpan RevalidateInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a machine may go without reading before its boot is over and its next read may see a newer
    /// upstream version (<c>--iso-boot-session-idle</c>). Within a boot the version is pinned. Default: 2 min.
    /// </summary>
    public TimeSpan BootSessionIdle { get; set; } = TimeSpan.FromMinutes(2);
}
