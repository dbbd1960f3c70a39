using System.ClientModel;
using System.Text;
using System.Text.Json;
using Anthropic.Exceptions;
using Anthropic.Models.Messages;
using Corridor.Gateway.Metering;
using Corridor.Testing;
using OpenAI.Chat;

namespace Corridor.Gateway.Tests.Functional;

/// <summary>
/// The gateway with gpt-4.1 and claude-sonnet-4 served through a relay that keeps what the simulator received; its store
/// SQLite, or a PostgreSQL database of the fixture's own when a subclass says so (<see cref="OnPostgres"/>).
/// </summary>
public class RelayedGatewayFixture : LiveGatewayFixture
{
    private TcpRelay? _relay;
    private FixtureDatabase? _database;

    public TcpRelay Relay => _relay ?? throw new InvalidOperationException("the relay has not started");

    protected virtual bool OnPostgres => false;

    protected override async Task<LiveGateway> StartAsync()
    {
        if (OnPostgres)
        {
            _database = new FixtureDatabase();
            await _database.CreateAsync();
        }
        return await LiveGateway.StartAsync(simulator =>
        {
            _relay = Own(TcpRelay.Start(simulator));
            return TestCatalog.ThroughRelay(TestCatalog.Yaml(simulator), _relay) + (_database?.StorageYaml ?? "");
        });
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (_database is not null)
        {
            await _database.DropAsync();
        }
    }
}

/// <summary><see cref="RelayedGatewayFixture"/> with its store in a PostgreSQL database of its own.</summary>
public sealed class PostgresRelayedGatewayFixture : RelayedGatewayFixture
{
    protected override bool OnPostgres => true;
}

/// <summary>
/// Documents cross the translation as images do: each official SDK sends a PDF and a plain-text document to a model of
/// the other dialect's vendor, is answered, and the simulator receives them in its own dialect's shape; what cannot
/// cross is refused before anything is sent upstream.
/// </summary>
public sealed class DocumentTranslationTests(RelayedGatewayFixture fixture) : IClassFixture<RelayedGatewayFixture>
{
    private static readonly byte[] Pdf = TestPdf.Make("Revenue rose four per cent.", "Costs fell.");

    private LiveGateway Live => fixture.Live;

    [Fact]
    public async Task AnthropicClient_SendingAPdfAndATextDocument_ToAnOpenAIModel_IsServed_AndTheModelGetsAFileAndText()
    {
        var client = Live.Anthropic();
        Message? answer = null;

        var upstream = await fixture.Relay.BodySentByAsync(async () => answer = await client.Messages.Create(new MessageCreateParams
        {
            Model = "gpt-4.1",
            MaxTokens = 64,
            Messages =
            [
                new UserMessageParam
                {
                    Content = new List<ContentBlockParam>
                    {
                        new DocumentBlockParam { Source = new Base64PdfSource { Data = Convert.ToBase64String(Pdf) }, Title = "Quarterly report" },
                        new DocumentBlockParam { Source = new PlainTextSource { Data = "Minutes: the board met." }, Context = "From the wiki." },
                        new TextBlockParam { Text = "Summarise both." },
                    },
                },
            ],
        }).WithTimeout());

        Assert.NotNull(answer);
        Assert.False(string.IsNullOrEmpty(AnthropicDialectTests.Text(answer)));
        var content = JsonDocument.Parse(upstream).RootElement.GetProperty("messages")[0].GetProperty("content");
        Assert.Equal(3, content.GetArrayLength());
        var file = content[0];
        Assert.Equal("file", file.GetProperty("type").GetString());
        Assert.Equal("Quarterly report.pdf", file.GetProperty("file").GetProperty("filename").GetString());
        Assert.Equal("data:application/pdf;base64," + Convert.ToBase64String(Pdf), file.GetProperty("file").GetProperty("file_data").GetString());
        Assert.Equal("Document context: From the wiki.\n\nMinutes: the board met.", content[1].GetProperty("text").GetString());
        Assert.Equal("Summarise both.", content[2].GetProperty("text").GetString());
    }

    [Fact]
    public async Task OpenAIClient_SendingAPdfAndATextFile_ToAClaudeModel_IsServed_AndTheModelGetsDocumentBlocks()
    {
        var chat = Live.OpenAI().GetChatClient("claude-sonnet-4");
        ChatCompletion? answer = null;

#pragma warning disable OPENAI001 // the SDK marks file parts experimental; clients sending documents use them
        var upstream = await fixture.Relay.BodySentByAsync(async () => answer = (await chat.CompleteChatAsync(
        [
            new UserChatMessage(
                ChatMessageContentPart.CreateFilePart(BinaryData.FromBytes(Pdf), "application/pdf", "report.pdf"),
                ChatMessageContentPart.CreateFilePart(BinaryData.FromString("Minutes: the board met."), "text/plain", "minutes.txt"),
                ChatMessageContentPart.CreateTextPart("Summarise both.")),
        ]).WithTimeout()).Value);
#pragma warning restore OPENAI001

        Assert.NotNull(answer);
        Assert.False(string.IsNullOrEmpty(Assert.Single(answer.Content).Text));
        var content = JsonDocument.Parse(upstream).RootElement.GetProperty("messages")[0].GetProperty("content");
        Assert.Equal(3, content.GetArrayLength());
        var pdf = content[0];
        Assert.Equal("document", pdf.GetProperty("type").GetString());
        Assert.Equal("report.pdf", pdf.GetProperty("title").GetString());
        Assert.Equal("base64", pdf.GetProperty("source").GetProperty("type").GetString());
        Assert.Equal("application/pdf", pdf.GetProperty("source").GetProperty("media_type").GetString());
        Assert.Equal(Convert.ToBase64String(Pdf), pdf.GetProperty("source").GetProperty("data").GetString());
        var text = content[1];
        Assert.Equal("document", text.GetProperty("type").GetString());
        Assert.Equal("minutes.txt", text.GetProperty("title").GetString());
        Assert.Equal("text", text.GetProperty("source").GetProperty("type").GetString());
        Assert.Equal("Minutes: the board met.", text.GetProperty("source").GetProperty("data").GetString());
        Assert.Equal("Summarise both.", content[2].GetProperty("text").GetString());
    }

    [Fact]
    public async Task AResponsesClientsInputFile_ReachesAClaudeModelAsADocumentBlock()
    {
#pragma warning disable OPENAI001 // the SDK marks its Responses client experimental
        var responses = Live.OpenAI().GetResponsesClient();
        OpenAI.Responses.ResponseResult? answer = null;

        var upstream = await fixture.Relay.BodySentByAsync(async () => answer = (await responses.CreateResponseAsync(new OpenAI.Responses.CreateResponseOptions("claude-sonnet-4",
        [
            OpenAI.Responses.ResponseItem.CreateUserMessageItem(
            [
                OpenAI.Responses.ResponseContentPart.CreateInputFilePart(BinaryData.FromBytes(Pdf), "application/pdf", "report.pdf"),
                OpenAI.Responses.ResponseContentPart.CreateInputTextPart("Summarise it."),
            ]),
        ])).WithTimeout()).Value);
#pragma warning restore OPENAI001

        Assert.NotNull(answer);
        var content = JsonDocument.Parse(upstream).RootElement.GetProperty("messages")[0].GetProperty("content");
        var pdf = content[0];
        Assert.Equal("document", pdf.GetProperty("type").GetString());
        Assert.Equal("report.pdf", pdf.GetProperty("title").GetString());
        Assert.Equal(Convert.ToBase64String(Pdf), pdf.GetProperty("source").GetProperty("data").GetString());
        Assert.Equal("Summarise it.", content[1].GetProperty("text").GetString());
    }

    [Fact]
    public async Task AResponsesClientsInputFileAClaudeModelCannotRead_IsA400NamingTheResponsesParameter()
    {
        var (param, message) = await RefusedResponsesFileAsync(BinaryData.FromString("a,b\n1,2\n"), "text/csv", "table.csv");

        // The client sent no 'messages': the chat request the gateway made of its input did (its instructions the first
        // message). The client is told the input item and the field of it, as OpenAI names them.
        Assert.Equal("input[0].content[0].file_data", param);
        Assert.Contains("'text/csv'", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AResponsesClientsInputFileTheTranslationRefuses_IsA400WhoseMessageNamesTheResponsesParameterToo()
    {
        // Bytes that are not UTF-8, sent as plain text: the chat request made of the input names them
        // 'messages[1].content[0].file.file_data', which this client never sent.
        var (param, message) = await RefusedResponsesFileAsync(BinaryData.FromBytes([0xFF, 0xFE, 0xFD]), "text/plain", "notes.txt");

        Assert.Equal("input[0].content[0].file_data", param);
        Assert.Equal("'input[0].content[0].file_data' must hold valid base64 of UTF-8 text for a text/plain file.", message);
    }

    /// <summary>The <c>param</c> and <c>message</c> of the 400 the OpenAI SDK's Responses client gets for one input file to a Claude model.</summary>
    private async Task<(string? Param, string? Message)> RefusedResponsesFileAsync(BinaryData file, string mediaType, string filename)
    {
#pragma warning disable OPENAI001 // the SDK marks its Responses client experimental
        var refused = await Assert.ThrowsAsync<ClientResultException>(() => Live.OpenAI().GetResponsesClient().CreateResponseAsync(
            new OpenAI.Responses.CreateResponseOptions("claude-sonnet-4",
            [
                OpenAI.Responses.ResponseItem.CreateUserMessageItem([OpenAI.Responses.ResponseContentPart.CreateInputFilePart(file, mediaType, filename)]),
            ])
            { Instructions = "Be brief." })).WithTimeout();
#pragma warning restore OPENAI001

        Assert.Equal(400, refused.Status);
        using var body = JsonDocument.Parse(refused.GetRawResponse()!.Content.ToString());
        var error = body.RootElement.GetProperty("error");
        return (error.GetProperty("param").GetString(), error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task AFileById_OrADocumentByUrl_IsA400NamingIt_AndNothingReachesTheUpstream()
    {
        var sentBefore = fixture.Relay.SentBodies().Count;

#pragma warning disable OPENAI001 // the SDK marks file parts experimental
        var byId = await Assert.ThrowsAsync<ClientResultException>(() => Live.OpenAI().GetChatClient("claude-sonnet-4").CompleteChatAsync(
            [new UserChatMessage(ChatMessageContentPart.CreateFilePart("file-abc123"), ChatMessageContentPart.CreateTextPart("Summarise it."))])).WithTimeout();
#pragma warning restore OPENAI001
        var byUrl = await Assert.ThrowsAnyAsync<AnthropicApiException>(() => Live.Anthropic().Messages.Create(new MessageCreateParams
        {
            Model = "gpt-4.1",
            MaxTokens = 64,
            Messages = [new UserMessageParam { Content = new List<ContentBlockParam> { new DocumentBlockParam { Source = new UrlPdfSource { Url = "http://169.254.169.254/latest/meta-data" } } } }],
        })).WithTimeout();

        Assert.Equal(400, byId.Status);
        using (var body = JsonDocument.Parse(byId.GetRawResponse()!.Content.ToString()))
        {
            Assert.Equal("messages[0].content[0].file.file_id", body.RootElement.GetProperty("error").GetProperty("param").GetString());
        }
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, byUrl.StatusCode);
        using (var body = JsonDocument.Parse(byUrl.ResponseBody))
        {
            Assert.Equal("invalid_request_error", body.RootElement.GetProperty("error").GetProperty("type").GetString());
            Assert.Contains("does not fetch", body.RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        }
        Assert.Equal(sentBefore, fixture.Relay.SentBodies().Count);
    }

    [Fact]
    public async Task ATokenCount_OnAnOpenAIModel_CountsAPdfByItsPages_NotItsBase64()
    {
        var client = Live.Anthropic();
        Task<MessageTokensCount> Count(byte[] pdf) => client.Messages.CountTokens(new MessageCountTokensParams
        {
            Model = "gpt-4.1",
            Messages =
            [
                new UserMessageParam
                {
                    Content = new List<ContentBlockParam>
                    {
                        new DocumentBlockParam { Source = new Base64PdfSource { Data = Convert.ToBase64String(pdf) }, Title = "Report" },
                        new TextBlockParam { Text = "Summarise it." },
                    },
                },
            ],
        });

        var onePage = await Count(TestPdf.Make("Revenue rose four per cent.")).WithTimeout();
        var threePages = await Count(TestPdf.Make("Revenue rose four per cent.", "Costs fell.", Encoding.ASCII.GetString(new byte[2000]).Replace('\0', 'x'))).WithTimeout();

        Assert.Equal(2 * MediaTokens.PerPdfPage, threePages.InputTokens - onePage.InputTokens);
    }
}
