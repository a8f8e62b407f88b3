using IsoCluster.Grains.Machines;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;

namespace IsoCluster.Gateway.Tests.Machines;

public sealed class MacAddressTests
{
    private const ulong DeedBeefFeed = 0xdeed_beef_feed;

    [Theory]
    [InlineData("de:ed:be:ef:fe:ed")]
    [InlineData("de-ed-be-ef-fe-ed")]
    [InlineData("deed.beef.feed")]
    [InlineData("DE:ED:BE:EF:FE:ED")]
    [InlineData("DE-ED-BE-EF-FE-ED")]
    [InlineData("DEED.BEEF.FEED")]
    [InlineData("dE:Ed:bE:eF:Fe:eD")]
    [InlineData("DeEd.bEeF.fEeD")]
    public void TryParse_AnySupportedFormAndCase_ReturnsSameAddress(string text)
    {
        Assert.True(MacAddress.TryParse(text, out MacAddress mac, out string? error));
        Assert.Null(error);
        Assert.Equal(DeedBeefFeed, mac.Value);
        Assert.Equal(new MacAddress(DeedBeefFeed), mac);
    }

    [Theory]
    [InlineData("00:00:00:00:00:00", 0UL)]
    [InlineData("ff:ff:ff:ff:ff:ff", 0xffff_ffff_ffffUL)]
    [InlineData("01:23:45:67:89:ab", 0x0123_4567_89abUL)]
    [InlineData("0123.4567.89ab", 0x0123_4567_89abUL)]
    public void TryParse_BoundaryValues_ReturnsExpectedValue(string text, ulong expected)
    {
        Assert.True(MacAddress.TryParse(text, out MacAddress mac, out _));
        Assert.Equal(expected, mac.Value);
    }

    [Theory]
    [InlineData("")] // empty
    [InlineData("de:ed:be:ef:fe")] // too few groups
    [InlineData("de:ed:be:ef:fe:ed:00")] // too many groups
    [InlineData("de:ed:be:ef:fe:ed:")] // trailing separator
    [InlineData(":de:ed:be:ef:fe:ed")] // leading separator
    [InlineData("de:ed-be:ef:fe:ed")] // mixed separators
    [InlineData("de-ed-be-ef-fe:ed")] // mixed separators, late
    [InlineData("de.ed.be.ef.fe.ed")] // dots between pairs
    [InlineData("de_ed_be_ef_fe_ed")] // unknown separator
    [InlineData("de ed be ef fe ed")] // spaces as separators
    [InlineData("deedbeeffeed")] // no separators
    [InlineData("dee:d:be:ef:fe:ed")] // group of 3 then 1, same total length
    [InlineData("d:eed:be:ef:fe:ed")] // group of 1 then 3
    [InlineData("d:e:ed:be:ef:fe:ed")] // single-digit groups
    [InlineData("0:1:2:3:4:5")] // single-digit groups, short
    [InlineData("gg:ed:be:ef:fe:ed")] // non-hex
    [InlineData("de:ed:be:ef:fe:ez")] // non-hex, last digit
    [InlineData("+e:ed:be:ef:fe:ed")] // sign is not a digit
    [InlineData(" de:ed:be:ef:fe:ed")] // leading whitespace
    [InlineData("de:ed:be:ef:fe:ed ")] // trailing whitespace
    [InlineData("deed.beef.fee")] // dotted, short last group
    [InlineData("deed.beef.feed.0000")] // dotted, too many groups
    [InlineData("dee.dbeef.feed")] // dotted, groups of 3 and 5
    [InlineData("deedb.eef.feed")] // dotted, groups of 5 and 3
    [InlineData("de.edbe.effeed")] // dotted, groups of 2, 4, 6
    [InlineData("deed:beef:feed")] // dotted layout with colons
    [InlineData("deed-beef-feed")] // dotted layout with dashes
    [InlineData("deed.beef:feed")] // dotted layout, mixed
    [InlineData("deed.beef.fexd")] // dotted, non-hex
    public void TryParse_Malformed_ReturnsFalseWithReason(string text)
    {
        Assert.False(MacAddress.TryParse(text, out MacAddress mac, out string? error));
        Assert.Equal(default, mac);
        Assert.NotNull(error);
        Assert.Contains("is not a MAC address", error, StringComparison.Ordinal);
        Assert.Contains("3 groups of 4 separated by '.'", error, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error);
    }

    [Fact]
    public void TryParse_Malformed_ReasonQuotesInput()
    {
        Assert.False(MacAddress.TryParse("xyz", out _, out string? error));

        Assert.Equal(
            "'xyz' is not a MAC address: expected 6 hex pairs separated by ':' or '-', or 3 groups of 4 separated by '.'",
            error);
    }

    [Fact]
    public void TryParse_LongInputWithControlCharacters_ReasonIsBoundedAndOneLine()
    {
        string text = "ab\r\ncd" + new string('x', 1000);

        Assert.False(MacAddress.TryParse(text, out _, out string? error));

        Assert.StartsWith("'ab??cd", error, StringComparison.Ordinal);
        Assert.Contains("...' is not a MAC address", error, StringComparison.Ordinal);
        Assert.DoesNotContain('\r', error);
        Assert.DoesNotContain('\n', error);
        Assert.True(error.Length < 200);
    }

    [Fact]
    public void Parse_Malformed_ThrowsFormatExceptionWithReason()
    {
        Assert.False(MacAddress.TryParse("de:ed", out _, out string? expected));

        var exception = Assert.Throws<FormatException>(() => MacAddress.Parse("de:ed"));

        Assert.Equal(expected, exception.Message);
    }

    [Fact]
    public void Parse_Null_ThrowsArgumentNullException()
    {
        Assert.Throws<ArgumentNullException>(() => MacAddress.Parse(null!));
    }

    [Theory]
    [InlineData("DE-ED-BE-EF-FE-ED", "de:ed:be:ef:fe:ed", "de-ed-be-ef-fe-ed")]
    [InlineData("DEED.BEEF.FEED", "de:ed:be:ef:fe:ed", "de-ed-be-ef-fe-ed")]
    [InlineData("00:0a:b0:0c:d0:01", "00:0a:b0:0c:d0:01", "00-0a-b0-0c-d0-01")]
    public void ToString_AnyInputForm_ReturnsLowercaseColonAndDashForms(string text, string colon, string dashed)
    {
        MacAddress mac = MacAddress.Parse(text);

        Assert.Equal(colon, mac.ToString());
        Assert.Equal(dashed, mac.ToDashedString());
        Assert.Equal(mac, MacAddress.Parse(mac.ToString()));
        Assert.Equal(mac, MacAddress.Parse(mac.ToDashedString()));
    }

    [Fact]
    public void Constructor_ValueWiderThan48Bits_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new MacAddress(0x1_0000_0000_0000));
    }

    [Fact]
    public void OrleansSerializer_RoundTrip_PreservesValue()
    {
        using ServiceProvider services = new ServiceCollection()
            .AddSerializer(builder => builder.AddAssembly(typeof(MacAddress).Assembly))
            .BuildServiceProvider();
        var serializer = services.GetRequiredService<Serializer>();
        MacAddress mac = MacAddress.Parse("de:ed:be:ef:fe:ed");

        MacAddress copy = serializer.Deserialize<MacAddress>(serializer.SerializeToArray(mac));

        Assert.Equal(mac, copy);
    }
}
