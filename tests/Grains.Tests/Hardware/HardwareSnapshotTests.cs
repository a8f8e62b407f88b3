using System.Collections.Immutable;
using IsoCluster.Grains.Hardware;
using IsoCluster.Grains.Hardware.Kubernetes;
using IsoCluster.Grains.Machines;

namespace IsoCluster.Grains.Tests.Hardware;

public sealed class HardwareSnapshotTests
{
    private static readonly MacAddress Mac1 = MacAddress.Parse("02:00:00:00:00:01");
    private static readonly MacAddress Mac2 = MacAddress.Parse("02:00:00:00:00:02");
    private static readonly HardwareKey A = new("tink", "a");
    private static readonly HardwareKey B = new("tink", "b");

    [Fact]
    public void Edit_Upsert_IsInvisibleToTheOldSnapshot()
    {
        var before = HardwareSnapshot.Empty;
        var edit = before.Edit();
        edit.Upsert(A, Machines(A, Mac1));
        edit.SetResourceVersion("5");

        var after = edit.Commit();

        Assert.False(before.TryFind(Mac1, out _, out _));
        Assert.True(after.TryFind(Mac1, out var machine, out _));
        Assert.Equal("a", machine.HardwareName);
        Assert.Equal("5", after.ResourceVersion);
    }

    [Fact]
    public void Upsert_ObjectMovesToAnotherMac_OldMacGoesInTheSameSnapshot()
    {
        var first = Apply(HardwareSnapshot.Empty, e => e.Upsert(A, Machines(A, Mac1)));

        var moved = Apply(first, e => e.Upsert(A, Machines(A, Mac2)));

        Assert.False(moved.TryFind(Mac1, out _, out _));
        Assert.True(moved.TryFind(Mac2, out _, out _));
        Assert.Equal(1, moved.ObjectCount);
    }

    [Fact]
    public void Upsert_SecondClaimant_NeitherBootsAndTheConflictIsReportedOnce()
    {
        var one = Apply(HardwareSnapshot.Empty, e => e.Upsert(A, Machines(A, Mac1)));
        var edit = one.Edit();
        edit.Upsert(B, Machines(B, Mac1));

        var both = edit.Commit();

        Assert.False(both.TryFind(Mac1, out _, out var claimants));
        Assert.Equal([A, B], claimants.AsEnumerable());
        var conflict = Assert.Single(edit.NewConflicts);
        Assert.Equal(Mac1, conflict.Mac);

        // Editing a claimant that keeps the MAC changes nothing about the conflict, so nothing new is reported.
        var again = both.Edit();
        again.Upsert(A, Machines(A, Mac1, facility: "edited"));
        again.Commit();
        Assert.Empty(again.NewConflicts);
        Assert.Empty(again.Resolved);
    }

    [Fact]
    public void Remove_OneOfTwoClaimants_TheOtherBootsAgain()
    {
        var both = Apply(HardwareSnapshot.Empty, e =>
        {
            e.Upsert(A, Machines(A, Mac1));
            e.Upsert(B, Machines(B, Mac1, Mac2));
        });
        var edit = both.Edit();
        Assert.True(edit.Remove(A));

        var after = edit.Commit();

        Assert.True(after.TryFind(Mac1, out var machine, out _));
        Assert.Equal("b", machine.HardwareName);
        Assert.Equal((Mac1, B), Assert.Single(edit.Resolved));
        Assert.Equal(0, after.ConflictCount);
    }

    [Fact]
    public void Clear_ThenTheSameObjects_ReportsNoConflictThatWasAlreadyKnown()
    {
        var both = Apply(HardwareSnapshot.Empty, e =>
        {
            e.Upsert(A, Machines(A, Mac1));
            e.Upsert(B, Machines(B, Mac1));
        });
        var relist = both.Edit();
        relist.Clear();
        relist.Upsert(A, Machines(A, Mac1));
        relist.Upsert(B, Machines(B, Mac1));

        var after = relist.Commit();

        Assert.Empty(relist.NewConflicts);
        Assert.Equal(1, after.ConflictCount);
    }

    private static HardwareSnapshot Apply(HardwareSnapshot snapshot, Action<HardwareSnapshot.Editor> change)
    {
        var edit = snapshot.Edit();
        change(edit);
        return edit.Commit();
    }

    private static ImmutableArray<MachineRecord> Machines(HardwareKey key, MacAddress mac, string? facility = null) =>
        [Machine(key, mac, 0, facility)];

    private static ImmutableArray<MachineRecord> Machines(HardwareKey key, MacAddress mac1, MacAddress mac2) =>
        [Machine(key, mac1, 0, null), Machine(key, mac2, 1, null)];

    private static MachineRecord Machine(HardwareKey key, MacAddress mac, int index, string? facility) =>
        new(key.Name, key.Namespace, facility, new MachineInterface(mac, index, null, null, null, null, null, [], [], [], null));
}
