using Corridor.Gateway.Metering;

namespace Corridor.Gateway.Tests.Metering;

public sealed class RetainedTextTests
{
    [Fact]
    public void OnePiece_IsKeptUpToTheCap_AndReadAsOneString()
    {
        var text = new RetainedText(cap: 5);
        text.Append("Singapore");

        Assert.Equal(5, text.Length);
        Assert.Equal("Singa", text.ToString());
        Assert.Same(text.ToString(), text.ToString());
        text.Append("more");
        Assert.Equal("Singa", text.ToString());
    }

    [Fact]
    public void Pieces_AreJoinedUpToTheCap_AndAReadAfterMoreCameSeesIt()
    {
        var text = new RetainedText(cap: 12);
        text.Append("The ");
        Assert.Equal("The ", text.ToString());
        text.Append("capital");
        Assert.Equal("The capital", text.ToString());
        text.Append(" is Singapore.");

        Assert.Equal(12, text.Length);
        Assert.Equal("The capital ", text.ToString());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Truncate_DropsWhatCameAfter_AndAppendingGoesOnFromThere(int pieces)
    {
        var text = new RetainedText(cap: 100);
        for (var i = 0; i < pieces; i++)
        {
            text.Append("ab");
        }
        text.Truncate(1);
        Assert.Equal("a", text.ToString());
        text.Truncate(0);
        Assert.Equal("", text.ToString());
        text.Append("xyz");
        Assert.Equal("xyz", text.ToString());
        Assert.Equal(3, text.Length);
    }
}
