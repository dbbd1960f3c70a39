using System.Text;
using Corridor.Gateway.Metering;
using Corridor.Testing;

namespace Corridor.Gateway.Tests.Metering;

/// <summary>
/// A prompt's documents and images are estimated as what they are, not as their base64: a PDF 1,500 tokens a page, plain
/// text its text, an image 85 tokens; both in Corridor's token count (a translated chat prompt) and in the estimate of a
/// prompt whose usage the upstream never reported (either dialect's body).
/// </summary>
public sealed class MediaTokensTests
{
    private static readonly string ThreePages = Convert.ToBase64String(TestPdf.Make("One.", "Two.", "Three."));

    private static string ChatWithFile(string fileData) =>
        $$$"""{"model":"gpt-4.1","messages":[{"role":"user","content":[{"type":"text","text":"Summarise this report."},{"type":"file","file":{"filename":"report.pdf","file_data":"{{{fileData}}}"}}]}]}""";

    [Fact]
    public void ATokenCount_CountsAPdfFilePart_At1500TokensForEachOfItsPages()
    {
        var withPdf = PromptTokens.CountChat(Encoding.UTF8.GetBytes(ChatWithFile("data:application/pdf;base64," + ThreePages)));
        var without = PromptTokens.CountChat(Encoding.UTF8.GetBytes(ChatWithFile("")));

        Assert.Equal(without + 3 * MediaTokens.PerPdfPage, withPdf);
    }

    [Fact]
    public void ATokenCount_CountsAPlainTextFilePart_AsItsText()
    {
        const string Text = "The quarterly figures rose by four per cent, led by the northern region.";
        var withText = PromptTokens.CountChat(Encoding.UTF8.GetBytes(ChatWithFile("data:text/plain;base64," + Convert.ToBase64String(Encoding.UTF8.GetBytes(Text)))));
        var without = PromptTokens.CountChat(Encoding.UTF8.GetBytes(ChatWithFile("")));

        Assert.Equal(without + TokenCounter.Count(Text), withText);
    }

    [Fact]
    public void APdfWhosePageObjectsCannotBeSeen_CountsAPagePer50KiB()
    {
        // Page objects packed in compressed object streams: nothing in the bytes says "/Type /Page".
        var packed = new byte[120 * 1024];
        new Random(7).NextBytes(packed);
        "%PDF-1.7\n"u8.CopyTo(packed);

        Assert.Equal(3 * MediaTokens.PerPdfPage, MediaTokens.OfBase64(Encoding.ASCII.GetBytes(Convert.ToBase64String(packed)), "application/pdf"));
    }

    [Fact]
    public void APdfOfMillionsOfPageObjects_IsEstimatedAtAllOfThem_NotANegativeCount()
    {
        // 1.5 million pages of 1,500 tokens overflow an int: within a 32 MiB body limit, as Anthropic's own.
        const int Pages = 1_500_000;
        var pdf = Encoding.ASCII.GetBytes(new StringBuilder("%PDF-1.7\n").Insert(9, "<</Type/Page>>", Pages).ToString());

        Assert.Equal((long)Pages * MediaTokens.PerPdfPage, MediaTokens.OfBase64(Encoding.ASCII.GetBytes(Convert.ToBase64String(pdf)), "application/pdf"));
    }

    [Theory]
    [InlineData("<< /Type /Page /Parent 2 0 R >>", 1)]
    [InlineData("<</Type/Page/Parent 2 0 R>><</Type\n/Page>>", 2)]
    [InlineData("<< /Type /Pages /Count 2 >> << /Subtype /Type1 >> << /Type /PageLabel >>", 0)]
    public void PdfPages_AreItsPageObjects_NotThePageTreesNodes(string pdf, int pages) =>
        Assert.Equal(pages, MediaTokens.PdfPages(Encoding.ASCII.GetBytes(pdf)));

    [Fact]
    public void AnUnreportedPrompt_WithAnAnthropicPdfDocumentAndImage_IsEstimatedAsThem_NotAsTheirBase64()
    {
        var image = Convert.ToBase64String(new byte[30_000]);
        string Body(string pdf, string png) =>
            $$$"""{"model":"gpt-4.1","max_tokens":100,"messages":[{"role":"user","content":[{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"{{{pdf}}}"},"title":"Report"},{"type":"image","source":{"data":"{{{png}}}","media_type":"image/png","type":"base64"}},{"type":"text","text":"Summarise it."}]}]}""";
        var meter = new UsageMeter(0);

        Assert.True(meter.EstimateIfMissing(Encoding.UTF8.GetBytes(Body(ThreePages, image))));

        Assert.Equal(TokenCounter.CountUtf8(Encoding.UTF8.GetBytes(Body("", ""))) + 3 * MediaTokens.PerPdfPage + MediaTokens.PerImage, meter.InputTokens);
    }

    [Fact]
    public void AnUnreportedPrompt_WithAChatFile_IsEstimatedAsItsPages_AndItsPlainTextDocumentsAsText()
    {
        // A base64 data URL, its slashes escaped as some JSON writers escape them.
        var escaped = ChatWithFile("data:application/pdf;base64," + ThreePages).Replace("/", "\\/", StringComparison.Ordinal);
        const string TextDocument = """{"model":"gpt-4.1","max_tokens":100,"messages":[{"role":"user","content":[{"type":"document","source":{"type":"text","media_type":"text/plain","data":"Plain text is read as it is."}}]}]}""";
        var file = new UsageMeter(0);
        var text = new UsageMeter(0);

        file.EstimateIfMissing(Encoding.UTF8.GetBytes(escaped));
        text.EstimateIfMissing(Encoding.UTF8.GetBytes(TextDocument));

        var withoutFile = ChatWithFile("").Replace("/", "\\/", StringComparison.Ordinal);
        Assert.Equal(TokenCounter.CountUtf8(Encoding.UTF8.GetBytes(withoutFile)) + 3 * MediaTokens.PerPdfPage, file.InputTokens);
        Assert.Equal(TokenCounter.CountUtf8(Encoding.UTF8.GetBytes(TextDocument)), text.InputTokens);
    }
    [Theory]
    [InlineData("data:application/pdf;BASE64,")]
    [InlineData("DATA:application/pdf;base64,")]
    [InlineData("Data:Application/PDF;charset=binary;Base64,")]
    public void AnUnreportedPrompt_WithADataUrlSpelledInAnyCase_IsEstimatedAsItsPages_AsTheTranslationReadsIt(string prefix)
    {
        // DataUrl.TryRead, which the translation reads a file part with, takes "data:" and ";base64" in any case.
        var meter = new UsageMeter(0);

        meter.EstimateIfMissing(Encoding.UTF8.GetBytes(ChatWithFile(prefix + ThreePages)));

        Assert.Equal(TokenCounter.CountUtf8(Encoding.UTF8.GetBytes(ChatWithFile(""))) + 3 * MediaTokens.PerPdfPage, meter.InputTokens);
    }
    [Fact]
    public void AnUnreportedPrompt_WhoseTextHoldsADataUrl_OrWhoseToolInputHoldsABase64Source_IsEstimatedAsThatText()
    {
        // Media is where a message's content says it is: a data URL pasted into a text, or a tool's input shaped like a
        // document source, reaches the model as text and is read as text.
        var pdf = "data:application/pdf;base64," + ThreePages;
        var inText = $$$"""{"model":"gpt-4.1","messages":[{"role":"user","content":[{"type":"text","text":"{{{pdf}}}"}]},{"role":"user","content":"{{{pdf}}}"}]}""";
        var inToolInput = $$$$"""{"model":"claude-sonnet-4","max_tokens":100,"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"store","input":{"file":{"type":"base64","media_type":"application/pdf","data":"{{{{ThreePages}}}}"}}}]}]}""";
        var text = new UsageMeter(0);
        var toolInput = new UsageMeter(0);

        text.EstimateIfMissing(Encoding.UTF8.GetBytes(inText));
        toolInput.EstimateIfMissing(Encoding.UTF8.GetBytes(inToolInput));

        Assert.Equal(TokenCounter.CountUtf8(Encoding.UTF8.GetBytes(inText)), text.InputTokens);
        Assert.Equal(TokenCounter.CountUtf8(Encoding.UTF8.GetBytes(inToolInput)), toolInput.InputTokens);
    }

    [Fact]
    public void AnUnreportedPrompt_WithAFileOfAMediaTypeNotKnownHere_CountsATokenPerFourBytesOfIt()
    {
        // A file part is media whatever its type: the upstream gets a file, not text. Of a type not estimated otherwise,
        // a token per four bytes (docs/token-counts.md).
        var zip = new byte[4000];
        new Random(3).NextBytes(zip);
        var meter = new UsageMeter(0);

        meter.EstimateIfMissing(Encoding.UTF8.GetBytes(ChatWithFile("data:application/zip;base64," + Convert.ToBase64String(zip))));

        Assert.Equal(TokenCounter.CountUtf8(Encoding.UTF8.GetBytes(ChatWithFile(""))) + 1000, meter.InputTokens);
    }

    private static byte[] ChatWithAudio(string data, string format = "wav") => Encoding.UTF8.GetBytes(
        $$$"""{"model":"gpt-4o-audio-preview","messages":[{"role":"user","content":[{"type":"text","text":"What is said here?"},{"type":"input_audio","input_audio":{"data":"{{{data}}}","format":"{{{format}}}"}}]}]}""");

    [Fact]
    public void AWavAudioPart_CountsTenTokensASecond_OfTheDurationItsHeaderGives_NotItsBase64()
    {
        // 3 s at 16,000 bytes a second (8 kHz, 16-bit mono): 30 tokens, as OpenAI counts a user's audio (a token per 100 ms).
        var wav = Convert.ToBase64String(TestAudio.Wav(3));
        var meter = new UsageMeter(0);

        meter.EstimateIfMissing(ChatWithAudio(wav));

        Assert.Equal(PromptTokens.CountChat(ChatWithAudio("")) + 30, PromptTokens.CountChat(ChatWithAudio(wav)));
        Assert.Equal(TokenCounter.CountUtf8(ChatWithAudio("")) + 30, meter.InputTokens);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1000)]
    public void AnMp3AudioPart_CountsTenTokensASecond_AtItsFirstFramesBitrate_AfterItsTag(int tagBytes)
    {
        // 2.5 s at 64 kbit/s: 25 tokens, whether an ID3v2 tag comes first or not.
        var mp3 = Convert.ToBase64String(TestAudio.Mp3At64Kbps(2.5, tagBytes));
        var meter = new UsageMeter(0);

        meter.EstimateIfMissing(ChatWithAudio(mp3, "mp3"));

        Assert.Equal(PromptTokens.CountChat(ChatWithAudio("", "mp3")) + 25, PromptTokens.CountChat(ChatWithAudio(mp3, "mp3")));
        Assert.Equal(TokenCounter.CountUtf8(ChatWithAudio("", "mp3")) + 25, meter.InputTokens);
    }

    [Fact]
    public void AudioWhoseHeaderSaysNothing_CountsTenTokensASecond_At128KilobitsASecond()
    {
        // 32,000 bytes of an unknown encoding at 16,000 bytes a second: 2 s, 20 tokens.
        var unknown = new byte[32_000];
        new Random(5).NextBytes(unknown);
        unknown[0] = 0;

        Assert.Equal(20, MediaTokens.OfBase64(Encoding.ASCII.GetBytes(Convert.ToBase64String(unknown)), "audio/flac"));
    }

    [Theory]
    [InlineData("""{"type":"image_url","image_url":{"url":"{0}","detail":"low"}}""")]
    [InlineData("""{"type":"image","source":{"type":"url","url":"{0}"}}""")]
    public void AnImageByAddress_Is85Tokens_InTheEstimateAsInTheCount_NotItsAddressesText(string part)
    {
        byte[] Body(string url) => Encoding.UTF8.GetBytes(
            """{"model":"gpt-4.1","max_tokens":100,"messages":[{"role":"user","content":[{"type":"text","text":"Describe it."},""" + part.Replace("{0}", url, StringComparison.Ordinal) + "]}]}");
        const string Url = "https://images.example.com/catalogue/2024/spring/product-4471-front-view-large.png";
        var meter = new UsageMeter(0);

        meter.EstimateIfMissing(Body(Url));

        Assert.Equal(PromptTokens.CountChat(Body("")), PromptTokens.CountChat(Body(Url)));
        Assert.Equal(TokenCounter.CountUtf8(Body("")) + MediaTokens.PerImage, meter.InputTokens);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AVideo_CountsNoTokens_InTheCountAndTheEstimate_NeitherItsAddressNorItsData(bool inline)
    {
        // What a video costs is the frames the server samples of it times what the served model makes of a frame, neither
        // known here (docs/token-counts.md): it is counted as nothing, not as the text of its address or its base64.
        var clip = new byte[30_000];
        new Random(9).NextBytes(clip);
        var url = inline ? "data:video/mp4;base64," + Convert.ToBase64String(clip) : "https://videos.example.com/warehouse/camera-7/2024-05-01T10-00.mp4";
        byte[] Body(string address) => Encoding.UTF8.GetBytes(
            $$$"""{"model":"qwen2.5-vl","messages":[{"role":"user","content":[{"type":"text","text":"What happens?"},{"type":"video_url","video_url":{"url":"{{{address}}}"}}]}]}""");
        var meter = new UsageMeter(0);

        meter.EstimateIfMissing(Body(url));

        Assert.Equal(PromptTokens.CountChat(Body("")), PromptTokens.CountChat(Body(url)));
        Assert.Equal(TokenCounter.CountUtf8(Body("")), meter.InputTokens);
    }
}
