using Corridor.Monitor.Features;

namespace Corridor.Monitor.Tests.Features;

public sealed class SkeletonTests
{
    [Theory]
    [InlineData("James takes 3 classes of 1.5 hours each week.", "James takes 7 classes of 2.25 hours each week.")]
    [InlineData("Please email Alice Smith about the report.", "Please email Bob Jones about the report.")]
    [InlineData("Translate \"good morning\" into French.", "Translate \"where is the train station, please\" into French.")]
    [InlineData("Explain `foo()` briefly.", "Explain `bar.baz(x, y)` briefly.")]
    [InlineData("Fix this:\n```python\nprint(1)\n```\nThanks.", "Fix this:\n```js\nconsole.log(a + b);\nlet x = 2;\n```\nThanks.")]
    public void Skeleton_MasksNumbersNamesAndQuotedPayloads(string a, string b)
    {
        var first = TestRequests.Features(a);
        var second = TestRequests.Features(b);
        Assert.Equal(first.SkeletonHash, second.SkeletonHash);
        Assert.NotEqual(first.ContentHash, second.ContentHash);
    }

    [Fact]
    public void Skeleton_DiffersWhenTheWordingDiffers() =>
        Assert.NotEqual(TestRequests.Features("Summarise the report for the board.").SkeletonHash, TestRequests.Features("Translate the report for the board.").SkeletonHash);

    [Fact]
    public void HeadAndTail_StayTheSame_AroundChangingPayloads()
    {
        var prefixed = Enumerable.Range(0, 5).Select(i => TestRequests.Features($"Think step by step and show all reasoning before answering.\n\n{TestRequests.Task(i * 37)}")).ToList();
        Assert.Single(prefixed.Select(f => f.HeadHash).Distinct());
        Assert.Equal(5, prefixed.Select(f => f.TailHash).Distinct().Count());

        var suffixed = Enumerable.Range(0, 5).Select(i => TestRequests.Features($"{TestRequests.Task(i * 41)}\n\nExplain your reasoning in detail, then give the final answer on its own line.")).ToList();
        Assert.Single(suffixed.Select(f => f.TailHash).Distinct());
        Assert.Equal(5, suffixed.Select(f => f.HeadHash).Distinct().Count());
    }

    [Fact]
    public void ContentHash_IgnoresCaseAndSpacing() =>
        Assert.Equal(TestRequests.Features("Hello   World\n").ContentHash, TestRequests.Features("hello world").ContentHash);
}

public sealed class MarkerTests
{
    [Theory]
    [InlineData("Let's think step by step.")]
    [InlineData("Show your work and explain your reasoning.")]
    [InlineData("Walk me through your thought process before you answer.")]
    [InlineData("Write out your complete chain of thought inside <reasoning></reasoning> tags.")]
    [InlineData("Articulate the internal reasoning behind the solution, as if narrating your own thinking.")]
    [InlineData("Please provide a detailed, step-by-step derivation.")]
    public void ReasoningRequests_AreMarked(string prompt) =>
        Assert.True(TestRequests.Features($"{TestRequests.Task(5)}\n\n{prompt}").ReasoningMarkers >= 3, prompt);

    [Theory]
    [InlineData("What is the capital of France?")]
    [InlineData("Write a haiku about autumn leaves.")]
    [InlineData("hi, the item arrived damaged")]
    public void OrdinaryRequests_AreNotMarked(string prompt)
    {
        var features = TestRequests.Features(prompt);
        Assert.True(features.ReasoningMarkers < 3);
        Assert.True(features.VerbosityMarkers < 3);
        Assert.True(features.FormatMarkers < 2);
    }

    [Theory]
    [InlineData("Answer in detail and be thorough.")]
    [InlineData("Return the complete, fully commented implementation with inline comments.")]
    [InlineData("Give a comprehensive, long-form explanation with at least three supporting points.")]
    public void LengthRequests_AreMarked(string prompt) =>
        Assert.True(TestRequests.Features($"{TestRequests.Task(9)} {prompt}").VerbosityMarkers >= 3, prompt);

    [Theory]
    [InlineData("Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n### Instruction:\nName a color.\n\n### Response:")]
    [InlineData("### Task\nName a color.\n\n### Requirements\n- Be accurate\n\n### Answer")]
    public void InstructionDatasetLayouts_AreMarked(string prompt) =>
        Assert.True(TestRequests.Features(prompt).FormatMarkers >= 2);

    [Fact]
    public void SystemPromptMarkers_AreCountedApart()
    {
        var features = TestRequests.Features("What is 12 times 7?", system: "You are a tutor. Explain step by step and show your work.");
        Assert.True(features.SystemReasoningMarkers >= 3);
        Assert.True(features.ReasoningMarkers < 3);
    }
}

public sealed class MinHashTests
{
    [Fact]
    public void NearDuplicates_AreSimilar_AndUnrelatedPromptsAreNot()
    {
        var text = "The quick brown fox jumps over the lazy dog while the farmer watches from the old wooden fence near the river bank at dawn.";
        var same = TestRequests.Features(text).MinHash;
        var near = TestRequests.Features(text.Replace("dawn", "dusk", StringComparison.Ordinal)).MinHash;
        var other = TestRequests.Features("Compute the eigenvalues of a symmetric matrix using the QR algorithm and report convergence behaviour.").MinHash;
        Assert.Equal(1.0, MinHash.Similarity(same, TestRequests.Features(text).MinHash));
        Assert.True(MinHash.Similarity(same, near) >= 0.5);
        Assert.True(MinHash.Similarity(same, other) <= 0.25);
        Assert.Equal(MinHash.BandHash(same, 0), MinHash.BandHash(TestRequests.Features(text).MinHash, 0));
    }
}

public sealed class BodyTests
{
    [Fact]
    public void SamplingParameters_AreRead()
    {
        var body = TestRequests.Utf8("""{"model":"o4-mini","messages":[{"role":"user","content":"hi"}],"n":8,"temperature":1.2,"logprobs":true,"top_logprobs":20,"max_completion_tokens":16384,"reasoning_effort":"high","stream":true}""");
        var features = TestRequests.Features(body, TestRequests.Start);
        Assert.Equal(8, features.N);
        Assert.Equal(1.2f, features.Temperature);
        Assert.True(features.Has(RequestTraits.Logprobs));
        Assert.Equal(20, features.TopLogprobs);
        Assert.Equal(16384, features.MaxTokens);
        Assert.True(features.Has(RequestTraits.ReasoningRequested));
        Assert.True(features.Has(RequestTraits.Stream));
    }

    // The front door's rule (RequestParser, docs/policy.md): any effort but none and minimal, any thinking type but disabled,
    // Responses' reasoning.effort, and vLLM's chat_template_kwargs.enable_thinking (or thinking) set to true.
    [Theory]
    [InlineData("'reasoning_effort':'low'", true)]
    [InlineData("'reasoning_effort':'medium'", true)]
    [InlineData("'reasoning_effort':'xhigh'", true)]
    [InlineData("'reasoning_effort':'minimal'", false)]
    [InlineData("'reasoning_effort':'none'", false)]
    [InlineData("'thinking':{'type':'enabled','budget_tokens':2048}", true)]
    [InlineData("'thinking':{'type':'adaptive'}", true)]
    [InlineData("'thinking':{'type':'disabled'}", false)]
    [InlineData("'reasoning':{'effort':'medium','summary':'auto'}", true)]
    [InlineData("'reasoning':{'effort':'minimal'}", false)]
    [InlineData("'reasoning':{'summary':'auto'}", false)]
    [InlineData("'chat_template_kwargs':{'enable_thinking':true}", true)]
    [InlineData("'chat_template_kwargs':{'add_generation_prompt':true,'thinking':true}", true)]
    [InlineData("'chat_template_kwargs':{'enable_thinking':false}", false)]
    [InlineData("'chat_template_kwargs':{'enable_thinking':'yes'}", true)]
    [InlineData("'chat_template_kwargs':{'enable_thinking':null}", false)]
    [InlineData("'chat_template_kwargs':{'add_generation_prompt':true}", false)]
    public void ReasoningAskedByParameter_IsRead_AsTheFrontDoorReadsIt(string parameter, bool asks)
    {
        var body = TestRequests.Utf8($$"""{"model":"m","messages":[{"role":"user","content":"hi"}],{{parameter.Replace('\'', '"')}}}""");
        Assert.Equal(asks, TestRequests.Features(body, TestRequests.Start).Has(RequestTraits.ReasoningRequested));
    }

    [Fact]
    public void AbsentParameters_AreZeroOrNaN()
    {
        var features = TestRequests.Features("hello");
        Assert.Equal(0, features.N);
        Assert.True(float.IsNaN(features.Temperature));
        Assert.Equal(0, features.MaxTokens);
        Assert.False(features.Has(RequestTraits.Logprobs));
    }

    [Fact]
    public void AnthropicShape_SystemAndContentBlocks_AreRead()
    {
        var body = TestRequests.Utf8("""{"model":"claude-sonnet-4","max_tokens":300,"system":[{"type":"text","text":"You are a tutor. Explain step by step and show your work."}],"messages":[{"role":"user","content":[{"type":"text","text":"Let's think step by step about 3 + 4."}]}],"thinking":{"type":"enabled","budget_tokens":2048}}""");
        var features = TestRequests.Features(body, TestRequests.Start);
        Assert.True(features.SystemReasoningMarkers >= 3);
        Assert.True(features.ReasoningMarkers >= 3);
        Assert.Equal(300, features.MaxTokens);
        Assert.True(features.Has(RequestTraits.ReasoningRequested));
        Assert.NotEqual(0UL, features.SystemHash);
    }

    [Fact]
    public void Conversations_AreTold_FromOneShotPrompts()
    {
        var history = new List<(string, string)> { ("user", "How do I reset my password?"), ("assistant", "Open settings and choose reset.") };
        var followUp = TestRequests.Features(TestRequests.Chat("why?", history: history), TestRequests.Start);
        Assert.Equal(2, followUp.UserTurns);
        Assert.Equal(1, followUp.AssistantTurns);
        Assert.True(followUp.Has(RequestTraits.CarriesAnswers));
        Assert.True(followUp.Has(RequestTraits.FollowUp));

        var oneShot = TestRequests.Features(TestRequests.Task(3));
        Assert.Equal(1, oneShot.UserTurns);
        Assert.False(oneShot.Has(RequestTraits.CarriesAnswers));
        Assert.False(oneShot.Has(RequestTraits.FollowUp));
    }

    [Fact]
    public void EscapedText_IsUnescapedBeforeScanning()
    {
        var body = TestRequests.Utf8("""{"messages":[{"role":"user","content":"Caf\u00e9 order\n\nLet\u2019s think step by step and show your work."}]}""");
        Assert.True(TestRequests.Features(body, TestRequests.Start).ReasoningMarkers >= 3);
    }

    [Theory]
    [InlineData("{not json")]
    [InlineData("[]")]
    [InlineData("")]
    [InlineData("""{"messages":5,"n":"x","temperature":{},"max_tokens":[1,2],"logprobs":"yes","messages":[{"role":7,"content":{"a":1}}]}""")]
    [InlineData("""{"messages":[{"role":"user","content":"unterminated""")]
    public void BadBodies_NeverThrow_AndKeepTheMetadata(string body)
    {
        var features = TestRequests.Features(TestRequests.Utf8(body), TestRequests.Start, key: "key-x", tenant: "tenant-x", input: 10, output: 20);
        Assert.Equal("key-x", features.KeyId);
        Assert.Equal("tenant-x", features.TenantId);
        Assert.Equal(20, features.OutputTokens);
        Assert.Equal(0, features.N);
    }

    [Fact]
    public void UnparseableBodies_AreMarkedUnreadable() =>
        Assert.True(TestRequests.Features(TestRequests.Utf8("{not json"), TestRequests.Start).Has(RequestTraits.Unreadable));

    [Fact]
    public void VisibleOutput_ExcludesHiddenReasoning()
    {
        var metadata = TestRequests.Metadata(TestRequests.Start, "k", "t", output: 1000) with { ReasoningTokens = 700 };
        Assert.Equal(300, FeatureExtractor.Extract(metadata, TestRequests.Chat("hi")).VisibleOutputTokens);
    }

    [Fact]
    public void NetworkHash_GroupsAddressesByNetwork()
    {
        Assert.Equal(FeatureExtractor.NetworkHash("203.0.113.7"), FeatureExtractor.NetworkHash("203.0.113.200"));
        Assert.NotEqual(FeatureExtractor.NetworkHash("203.0.113.7"), FeatureExtractor.NetworkHash("203.0.114.7"));
        Assert.Equal(FeatureExtractor.NetworkHash("2001:db8:1:2::1"), FeatureExtractor.NetworkHash("2001:db8:1:ffff::9"));
        Assert.Equal(0UL, FeatureExtractor.NetworkHash(null));
    }
}
