using Corridor.Core.Shadow;

namespace Corridor.Core.Tests.Shadow;

public sealed class SimilarityTests
{
    private static ModelOutput Text(string text) => new(text, [], "");

    [Fact]
    public void Jaccard_IsSharedWordsOverAllWords_CaseAndPunctuationAside()
    {
        // {the, cat, sat} and {the, cat, ran, away}: 2 shared of 5.
        var similarity = Similarity.Compare(Text("The cat sat."), Text("the CAT ran, away"));

        Assert.Equal(0.4, similarity.Jaccard, 12);
        Assert.False(similarity.ExactMatch);
        Assert.Equal(12.0 / 17.0, similarity.LengthRatio, 12);
        Assert.Null(similarity.ToolNamesMatch);
        Assert.Null(similarity.ToolArgumentsMatch);
    }

    [Fact]
    public void SameText_IsAnExactMatch_WhiteSpaceAroundAside()
    {
        var similarity = Similarity.Compare(Text("  Paris is the capital.\n"), Text("Paris is the capital."));

        Assert.Equal(1.0, similarity.Jaccard);
        Assert.True(similarity.ExactMatch);
        Assert.Equal(1.0, similarity.LengthRatio);
    }

    [Fact]
    public void TwoEmptyAnswers_AreAlike_AndOneEmptyAnswerIsNot()
    {
        Assert.Equal(new Similarity(1.0, true, 1.0, null, null), Similarity.Compare(ModelOutput.Empty, ModelOutput.Empty));
        Assert.Equal(new Similarity(0.0, false, 0.0, null, null), Similarity.Compare(ModelOutput.Empty, Text("words")));
    }

    [Fact]
    public void ToolCalls_CompareNamesInOrder_AndArgumentsAsJson()
    {
        var primary = new ModelOutput("", ["get_weather"], "{\"city\":\"Paris\",\"unit\":\"c\"}");
        var sameCallOtherKeyOrder = new ModelOutput("", ["get_weather"], "{ \"unit\": \"c\", \"city\": \"Paris\" }");
        var otherArguments = new ModelOutput("", ["get_weather"], "{\"city\":\"Lyon\",\"unit\":\"c\"}");
        var otherTool = new ModelOutput("", ["search"], "{\"city\":\"Paris\",\"unit\":\"c\"}");
        var noCall = Text("It is sunny in Paris.");

        Assert.Equal((true, true), Tools(Similarity.Compare(primary, sameCallOtherKeyOrder)));
        Assert.Equal((true, false), Tools(Similarity.Compare(primary, otherArguments)));
        Assert.Equal((false, true), Tools(Similarity.Compare(primary, otherTool)));
        Assert.Equal((false, false), Tools(Similarity.Compare(primary, noCall)));
    }

    private static (bool?, bool?) Tools(Similarity s) => (s.ToolNamesMatch, s.ToolArgumentsMatch);
}
