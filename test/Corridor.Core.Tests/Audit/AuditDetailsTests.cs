using Corridor.Core.Audit;

namespace Corridor.Core.Tests.Audit;

/// <summary>Details are written with one reused buffer and writer a thread: nothing of one object may reach the next.</summary>
public sealed class AuditDetailsTests
{
    [Fact]
    public void Write_OneAfterAnother_AndOneInsideAnother_GivesEachItsOwnObject()
    {
        var large = new string('x', 100_000);

        var first = AuditDetails.Write(json => json.WriteString("first", "a"));
        var outer = AuditDetails.Write(json =>
        {
            json.WriteString("inner", AuditDetails.Write(inner => inner.WriteNumber("n", 1)));
            json.WriteString("after", "b");
        });
        var grown = AuditDetails.Write(json => json.WriteString("large", large));
        var last = AuditDetails.Write(json => json.WriteBoolean("last", true));

        Assert.Equal("""{"first":"a"}""", first);
        Assert.Equal("""{"inner":"{\"n\":1}","after":"b"}""", outer);
        Assert.Equal($$"""{"large":"{{large}}"}""", grown);
        Assert.Equal("""{"last":true}""", last);
        Assert.Equal(AuditDetails.Empty, AuditDetails.Write(_ => { }));
    }

    [Fact]
    public void Write_AfterAWriteThatThrew_StartsClean()
    {
        Assert.Throws<InvalidOperationException>(() => AuditDetails.Write(json =>
        {
            json.WriteString("half", "written");
            throw new InvalidOperationException("stop");
        }));

        Assert.Equal("""{"whole":1}""", AuditDetails.Write(json => json.WriteNumber("whole", 1)));
    }
}
