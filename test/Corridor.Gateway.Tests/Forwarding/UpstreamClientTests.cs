using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Corridor.Gateway.Configuration;
using Corridor.Gateway.Forwarding;
using Corridor.Gateway.FrontDoor;
using Corridor.Testing;

namespace Corridor.Gateway.Tests.Forwarding;

/// <summary>
/// Corridor's HTTP/1.1 upstream client against a scripted server on loopback that answers each request with the bytes a
/// test gives it: framing (length, chunks, none), keep-alive and its ends, interim answers, broken and invalid answers,
/// cancellation, and TLS.
/// </summary>
public sealed class UpstreamClientTests : IAsyncDisposable
{
    private const string Json = """{"ok":true}""";
    private readonly ScriptedUpstream _upstream = new();

    public async ValueTask DisposeAsync() => await _upstream.DisposeAsync();

    // Only a hang matters here: a loaded machine may take seconds over a first TLS handshake.
    private static readonly TimeSpan ConnectTimeout = TestTimeouts.Default;

    // A headers timeout on a fake clock that is longer than the connect timeout: connecting is bounded by that (in real
    // time), not by what is left of the headers' time, so only the test moves the headers' deadline.
    private static readonly TimeSpan LongerThanConnecting = ConnectTimeout + TimeSpan.FromSeconds(10);

    private static UpstreamClient NewClient(TimeProvider? time = null, RemoteCertificateValidationCallback? certificates = null) =>
        new(ConnectTimeout, certificates, time ?? TimeProvider.System);

    private static UpstreamTarget Target(Uri baseUrl, string kind = "openai", string? credential = null)
    {
        var yaml = $$"""
            vendors:
              - { id: v, kind: {{kind}}, baseUrl: "{{baseUrl.ToString().TrimEnd('/')}}"{{(kind == "azure-openai" ? ", apiVersion: \"2024-10-21\"" : "")}} }
            models:
              - { id: m, vendor: v, capabilities: [{{(kind == "anthropic" ? "chat" : "chat, embeddings")}}], contextWindow: 8192 }
            deployments:
              - { id: d, model: m, region: sg, upstreamModel: "deploy/one", {{(credential is null ? "" : "credentialEnv: CRED, ")}}price: { input: 1, output: 1 } }
            """;
        var loaded = ConfigLoader.Parse(yaml, "/tmp");
        Assert.True(loaded.Succeeded, string.Join("; ", loaded.Errors));
        var active = ActiveConfig.TryCreate(loaded.Config!, name => name == "CRED" ? credential : null, DateTimeOffset.UnixEpoch, out var errors);
        Assert.True(active is not null, string.Join("; ", errors));
        return active.Upstreams[active.Catalog.Models[0].Deployments[0]];
    }

    [Theory]
    [InlineData("https://api.deepseek.com/v1", "openai", true)]
    [InlineData("http://127.0.0.1:8000/v1", "openai", true)]
    [InlineData("https://API.openai.com/v1", "openai", false)]
    [InlineData("https://eu.api.openai.com/v1", "openai", false)]
    [InlineData("https://us.api.openai.com/v1", "openai", false)]
    [InlineData("https://api.openai.com.example.net/v1", "openai", true)]
    [InlineData("https://my-resource.openai.azure.com", "azure-openai", false)]
    [InlineData("https://api.anthropic.com/v1", "anthropic", false)]
    public void OnlyAnOpenAIKindUpstreamOtherThanOpenAIItself_TakesReasoningContentBack(string baseUrl, string kind, bool takes)
    {
        Assert.Equal(takes, Target(new Uri(baseUrl), kind).TakesReasoningContent);
    }

    private static async Task<string> ReadAllAsync(UpstreamResponse response)
    {
        using var reader = new StreamReader(response.Body, Encoding.UTF8);
        return await reader.ReadToEndAsync().WithTimeout();
    }

    private static async Task<string> RoundTripAsync(UpstreamClient client, UpstreamTarget target)
    {
        using var response = await client.SendAsync(target, Operation.ChatCompletions, "{}"u8.ToArray(), default).WithTimeout();
        return await ReadAllAsync(response);
    }

    private static string WithLength(string body, string status = "200 OK", string headers = "Content-Type: application/json\r\n") =>
        $"HTTP/1.1 {status}\r\n{headers}Content-Length: {Encoding.UTF8.GetByteCount(body)}\r\n\r\n{body}";

    [Fact]
    public async Task TheRequest_CarriesTheTargetsPath_Host_Credential_AndTheBody_InOneHead()
    {
        _upstream.Answer(_ => WithLength(Json));
        using var client = NewClient();

        using (var response = await client.SendAsync(Target(_upstream.BaseUrl, "openai", "sk-vendor"), Operation.ChatCompletions, "{\"a\":1}"u8.ToArray(), default).WithTimeout())
        {
            Assert.Equal(200, response.Status);
            Assert.Equal(Json, await ReadAllAsync(response));
        }
        using (var response = await client.SendAsync(Target(_upstream.BaseUrl, "anthropic", "sk-ant"), Operation.ChatCompletions, "{}"u8.ToArray(), default).WithTimeout())
        {
            await ReadAllAsync(response);
        }
        using (var response = await client.SendAsync(Target(_upstream.BaseUrl, "azure-openai", "az"), Operation.Embeddings, "{}"u8.ToArray(), default).WithTimeout())
        {
            await ReadAllAsync(response);
        }

        var requests = _upstream.Requests.ToArray();
        Assert.Equal($"POST /chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{_upstream.Port}\r\nAuthorization: Bearer sk-vendor\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{{\"a\":1}}", requests[0]);
        Assert.StartsWith("POST /messages HTTP/1.1\r\n", requests[1], StringComparison.Ordinal);
        Assert.Contains("\r\nx-api-key: sk-ant\r\nanthropic-version: 2023-06-01\r\n", requests[1], StringComparison.Ordinal);
        Assert.StartsWith("POST /openai/deployments/deploy%2Fone/embeddings?api-version=2024-10-21 HTTP/1.1\r\n", requests[2], StringComparison.Ordinal);
        Assert.Contains("\r\napi-key: az\r\n", requests[2], StringComparison.Ordinal);
        Assert.Equal(1, _upstream.Connections); // one keep-alive connection served all three
    }

    [Fact]
    public async Task AChunkedAnswer_WithExtensionsAndTrailers_ArrivingAByteAtATime_IsDecoded_AndTheConnectionReused()
    {
        const string chunked = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "6;name=value\r\ndata: \r\n" + "19\r\n{\"choices\":[]}\n\ndata: [DO\r\n" + "4\r\nNE]\n\r\n" + "0\r\nX-Trailer: yes\r\n\r\n";
        _upstream.Answer(_ => chunked, byteByByte: true);
        using var client = NewClient();
        var target = Target(_upstream.BaseUrl);

        for (var i = 0; i < 2; i++)
        {
            using var response = await client.SendAsync(target, Operation.ChatCompletions, "{}"u8.ToArray(), default).WithTimeout();
            Assert.True(response.IsEventStream);
            Assert.Null(response.ContentLength);
            Assert.Equal("data: {\"choices\":[]}\n\ndata: [DONE]\n", await ReadAllAsync(response));
        }
        Assert.Equal(1, _upstream.Connections);
        Assert.Equal(1, client.IdleConnections);
    }

    [Fact]
    public async Task AConnectionWhoseAnswerWasWaitedFor_IsPooledAtTheThreadTheWaitEndedOn()
    {
        using var answers = new SemaphoreSlim(0);
        _upstream.Answer(_ => answers.Wait(TestTimeouts.Default) ? WithLength(Json) : null);
        using var client = NewClient();
        var target = Target(_upstream.BaseUrl);
        answers.Release();
        Assert.Equal(Json, await RoundTripAsync(client, target)); // connects; the connection is pooled

        // On the pooled connection the request is written and the read begun within this call, and the upstream holds its
        // answer until after it: the read waits.
        var waited = RoundTripAsync(client, target);
        answers.Release();
        Assert.Equal(Json, await waited);

        Assert.NotEqual(0, Assert.Single(client.IdleHomes));
    }

    [Fact]
    public async Task AnAnswerWithoutLength_RunsToTheConnectionsEnd_AndThatConnectionIsNotReused()
    {
        _upstream.Answer(_ => "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n" + Json, closeAfter: true);
        using var client = NewClient();
        var target = Target(_upstream.BaseUrl);

        Assert.Equal(Json, await RoundTripAsync(client, target));
        Assert.Equal(Json, await RoundTripAsync(client, target));
        Assert.Equal(2, _upstream.Connections);
        Assert.Equal(0, client.IdleConnections);
    }

    [Fact]
    public async Task Http10WithConnectionKeepAlive_IsReused()
    {
        _upstream.Answer(_ => $"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: {Json.Length}\r\n\r\n" + Json);
        using var client = NewClient();
        var target = Target(_upstream.BaseUrl);

        Assert.Equal(Json, await RoundTripAsync(client, target));
        Assert.Equal(Json, await RoundTripAsync(client, target));
        Assert.Equal(1, _upstream.Connections);
    }

    [Theory]
    [InlineData("HTTP/1.1 200 OK\r\nConnection: close\r\n")]
    [InlineData("HTTP/1.1 200 OK\r\nConnection: Upgrade ,\tClose\r\n")]
    [InlineData("HTTP/1.0 200 OK\r\n")]
    public async Task ConnectionClose_OrHttp10_IsNotReused(string statusAndHeader)
    {
        _upstream.Answer(_ => statusAndHeader + $"Content-Length: {Json.Length}\r\n\r\n" + Json, closeAfter: true);
        using var client = NewClient();
        var target = Target(_upstream.BaseUrl);

        Assert.Equal(Json, await RoundTripAsync(client, target));
        Assert.Equal(Json, await RoundTripAsync(client, target));
        Assert.Equal(2, _upstream.Connections);
    }

    [Fact]
    public async Task AnInterimAnswer_IsSkipped_AndRetryAfter_IsRead()
    {
        _upstream.Answer(_ => "HTTP/1.1 100 Continue\r\n\r\n" + WithLength("{}", "429 Too Many Requests", "Retry-After: 7\r\n"));
        using var client = NewClient();

        using var response = await client.SendAsync(Target(_upstream.BaseUrl), Operation.ChatCompletions, "{}"u8.ToArray(), default).WithTimeout();

        Assert.Equal(429, response.Status);
        Assert.Equal("7", response.RetryAfter);
        Assert.Equal(2, response.ContentLength);
    }

    [Theory]
    [InlineData("7", "7")]
    [InlineData(" 120 ", "120")]
    [InlineData("Wed, 21 Oct 2026 07:28:00 GMT", "Wed, 21 Oct 2026 07:28:00 GMT")]
    [InlineData("5\u0001", null)]
    [InlineData("soon", null)]
    [InlineData("-1", null)]
    [InlineData("99999999999", null)]
    [InlineData("", null)]
    public void RetryAfter_IsPassedOn_OnlyInAFormHttpDefines(string value, string? passedOn)
    {
        Assert.Equal(passedOn, UpstreamResponse.RetryAfterValue(Encoding.Latin1.GetBytes(value)));
    }

    [Fact]
    public async Task AnErrorAnswerDisposedUnread_ReturnsItsConnection_WhenItsBodyWasAlreadyBuffered()
    {
        _upstream.Answer(_ => WithLength("""{"error":"busy"}""", "503 Service Unavailable"));
        using var client = NewClient();
        var target = Target(_upstream.BaseUrl);

        for (var i = 0; i < 3; i++)
        {
            using var response = await client.SendAsync(target, Operation.ChatCompletions, "{}"u8.ToArray(), default).WithTimeout();
            Assert.Equal(503, response.Status);
        }
        Assert.Equal(1, _upstream.Connections);
    }

    [Theory]
    [InlineData("garbage\r\n\r\n")]
    [InlineData("HTTP/2 200\r\n\r\n")]
    [InlineData("HTTP/1.1 2x0 OK\r\n\r\n")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n")]
    [InlineData("HTTP/1.1 200 OK\r\nno colon here\r\n\r\n")]
    public async Task AnAnswerThatIsNotHttp_IsAnHttpRequestException(string answer)
    {
        _upstream.Answer(_ => answer, closeAfter: true);
        using var client = NewClient();

        var e = await Assert.ThrowsAsync<HttpRequestException>(() => client.SendAsync(Target(_upstream.BaseUrl), Operation.ChatCompletions, "{}"u8.ToArray(), default)).WithTimeout();

        Assert.Equal(HttpRequestError.InvalidResponse, e.HttpRequestError);
    }

    [Fact]
    public async Task HeadersOverTheLimit_AreAnHttpRequestException()
    {
        _upstream.Answer(_ => "HTTP/1.1 200 OK\r\nX-Big: " + new string('a', UpstreamConnection.MaxHeadBytes) + "\r\n\r\n", closeAfter: true);
        using var client = NewClient();

        var e = await Assert.ThrowsAsync<HttpRequestException>(() => client.SendAsync(Target(_upstream.BaseUrl), Operation.ChatCompletions, "{}"u8.ToArray(), default)).WithTimeout();

        Assert.Equal(HttpRequestError.InvalidResponse, e.HttpRequestError);
    }

    [Fact]
    public async Task AConnectionClosedWithoutAnswering_IsAnHttpRequestException_AndTheRequestIsNotSentTwice()
    {
        _upstream.Answer(_ => "", closeAfter: true);
        using var client = NewClient();

        var e = await Assert.ThrowsAsync<HttpRequestException>(() => client.SendAsync(Target(_upstream.BaseUrl), Operation.ChatCompletions, "{}"u8.ToArray(), default)).WithTimeout();

        Assert.Equal(HttpRequestError.ResponseEnded, e.HttpRequestError);
        Assert.Single(_upstream.Requests);
    }

    [Fact]
    public async Task ARefusedConnection_IsAConnectionError()
    {
        using var client = NewClient();
        using var closed = new TcpListener(IPAddress.Loopback, 0);
        closed.Start();
        var port = ((IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop();

        var e = await Assert.ThrowsAsync<HttpRequestException>(() => client.SendAsync(Target(new Uri($"http://127.0.0.1:{port}/v1")), Operation.ChatCompletions, "{}"u8.ToArray(), default)).WithTimeout();

        Assert.Equal(HttpRequestError.ConnectionError, e.HttpRequestError);
    }

    [Theory]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"half\":")]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n{\"half\":\r\n")]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-Trailer: ")]
    public async Task ABodyCutShort_OrMisframed_ThrowsIOException_AndTheConnectionIsClosed(string answer)
    {
        // The last case: trailers that never end, longer than a head may be.
        _upstream.Answer(_ => answer.EndsWith(": ", StringComparison.Ordinal) ? answer + new string('t', UpstreamConnection.MaxHeadBytes + 1) : answer, closeAfter: true);
        using var client = NewClient();

        using (var response = await client.SendAsync(Target(_upstream.BaseUrl), Operation.ChatCompletions, "{}"u8.ToArray(), default).WithTimeout())
        {
            await Assert.ThrowsAsync<IOException>(() => ReadAllAsync(response));
            var (body, how) = await response.ReadWholeAsync(TestTimeouts.Default, default).WithTimeout();
            Assert.Null(body);
            Assert.Equal(BodyRead.Broken, how);
        }
        Assert.Equal(0, client.IdleConnections);
    }

    [Fact]
    public async Task ReadWhole_ReadsTheBody_AndAStalledBody_IsAnIdleTimeout()
    {
        _upstream.Answer(i => i == 0 ? WithLength(Json) : "HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{\"sta", closeAfter: false);
        using var client = NewClient();
        var target = Target(_upstream.BaseUrl);

        using (var whole = await client.SendAsync(target, Operation.ChatCompletions, "{}"u8.ToArray(), default).WithTimeout())
        {
            var (body, how) = await whole.ReadWholeAsync(TestTimeouts.Default, default).WithTimeout();
            using var read = body;
            Assert.Equal(BodyRead.Complete, how);
            Assert.Equal(Json, Encoding.UTF8.GetString(read!.Span));
        }
        using (var stalled = await client.SendAsync(target, Operation.ChatCompletions, "{}"u8.ToArray(), default).WithTimeout())
        {
            var (body, how) = await stalled.ReadWholeAsync(TimeSpan.FromMilliseconds(200), default).WithTimeout();
            Assert.Null(body);
            Assert.Equal(BodyRead.IdleTimeout, how);
        }
        Assert.Equal(0, client.IdleConnections); // the stalled one was closed, not pooled
    }

    [Fact]
    public async Task CancellingWhileWaitingForHeaders_ThrowsAndClosesTheConnection()
    {
        _upstream.Answer(_ => null); // never answers
        using var client = NewClient();
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.SendAsync(Target(_upstream.BaseUrl), Operation.ChatCompletions, "{}"u8.ToArray(), cancel.Token)).WithTimeout();

        Assert.Equal(0, client.IdleConnections);
        await _upstream.ClosedByClient.WaitAsync(TestTimeouts.Default);
    }

    [Fact]
    public async Task HeadersThatDoNotComeWithinTheHeadersTimeout_AreACancellation_AndTheConnectionIsClosed()
    {
        _upstream.Answer(_ => null); // never answers
        using var client = NewClient();
        var started = System.Diagnostics.Stopwatch.GetTimestamp();

        var e = await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            client.SendAsync(Target(_upstream.BaseUrl), Operation.ChatCompletions, "{}"u8.ToArray(), TimeSpan.FromMilliseconds(300), default)).WithTimeout();

        Assert.True(System.Diagnostics.Stopwatch.GetElapsedTime(started) >= TimeSpan.FromMilliseconds(290));
        Assert.StartsWith("No response headers from", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, client.IdleConnections);
        await _upstream.ClosedByClient.WaitAsync(TestTimeouts.Default);
    }

    [Fact]
    public async Task AnAnswerWithinTheHeadersTimeout_LeavesItsConnectionPooled_AndThePassingDeadlineDoesNotShutIt()
    {
        var clock = new FakeClock();
        _upstream.Answer(_ => WithLength(Json));
        using var client = NewClient(clock);
        var target = Target(_upstream.BaseUrl);

        using (var response = await client.SendAsync(target, Operation.ChatCompletions, "{}"u8.ToArray(), LongerThanConnecting, default).WithTimeout())
        {
            Assert.Equal(Json, await ReadAllAsync(response));
        }
        clock.Advance(LongerThanConnecting + 3 * UpstreamClient.HeadersDeadlineSweep); // the sweep runs past the first deadline
        using (var response = await client.SendAsync(target, Operation.ChatCompletions, "{}"u8.ToArray(), LongerThanConnecting, default).WithTimeout())
        {
            Assert.Equal(Json, await ReadAllAsync(response));
        }

        Assert.Equal(1, _upstream.Connections);
        Assert.Equal(1, client.IdleConnections);
    }

    [Fact]
    public async Task APooledConnectionTheUpstreamClosedWhileIdle_IsReplaced_WithoutAFailedRequest()
    {
        var clock = new FakeClock();
        _upstream.Answer(i => WithLength(Json), closeIdleAfterAnswer: true);
        using var client = NewClient(clock);
        var target = Target(_upstream.BaseUrl);

        using (var first = await client.SendAsync(target, Operation.ChatCompletions, "{}"u8.ToArray(), default).WithTimeout())
        {
            await ReadAllAsync(first);
        }
        await _upstream.ServerClosedIdle.WaitAsync(TestTimeouts.Default);
        clock.Advance(TimeSpan.FromSeconds(2)); // idle long enough to be checked before use
        using (var second = await client.SendAsync(target, Operation.ChatCompletions, "{}"u8.ToArray(), default).WithTimeout())
        {
            Assert.Equal(Json, await ReadAllAsync(second));
        }
        Assert.Equal(2, _upstream.Connections);
        Assert.Equal(2, _upstream.Requests.Count);
    }

    [Fact]
    public async Task ConnectionsIdleBeyondTheirLifetime_AreClosed()
    {
        var clock = new FakeClock();
        _upstream.Answer(_ => WithLength(Json));
        using var client = NewClient(clock);

        using (var response = await client.SendAsync(Target(_upstream.BaseUrl), Operation.ChatCompletions, "{}"u8.ToArray(), default).WithTimeout())
        {
            await ReadAllAsync(response);
        }
        Assert.Equal(1, client.IdleConnections);
        clock.Advance(UpstreamClient.IdleLifetime + UpstreamClient.IdleLifetime / 3);

        Assert.Equal(0, client.IdleConnections);
        await _upstream.ClosedByClient.WaitAsync(TestTimeouts.Default);
    }

    [Fact]
    public async Task Tls_WorksWithACertificateTheClientTrusts_AndFailsToConnectWithOneItDoesNot()
    {
        using var certificate = SelfSigned();
        await using var upstream = new ScriptedUpstream(certificate);
        upstream.Answer(_ => WithLength(Json));
        var target = Target(new Uri($"https://localhost:{upstream.Port}/v1"));

        using (var trusting = NewClient(certificates: (_, presented, _, _) => presented?.GetCertHashString() == certificate.GetCertHashString()))
        {
            for (var i = 0; i < 2; i++)
            {
                using var response = await trusting.SendAsync(target, Operation.ChatCompletions, "{}"u8.ToArray(), default).WithTimeout();
                Assert.Equal(Json, await ReadAllAsync(response));
            }
        }
        Assert.Equal(1, upstream.Connections);
        Assert.StartsWith($"POST /v1/chat/completions HTTP/1.1\r\nHost: localhost:{upstream.Port}\r\n", upstream.Requests.First(), StringComparison.Ordinal);

        using var systemTrust = NewClient();
        var e = await Assert.ThrowsAsync<HttpRequestException>(() => systemTrust.SendAsync(target, Operation.ChatCompletions, "{}"u8.ToArray(), default)).WithTimeout();
        Assert.Equal(HttpRequestError.ConnectionError, e.HttpRequestError);
    }

    [Fact]
    public async Task AHandshakeSlowerThanTheHeadersTimeout_EndsAtThatTimeout_AndTheRequestIsNeverWritten()
    {
        using var certificate = SelfSigned();
        var handshake = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var upstream = new ScriptedUpstream(certificate) { HandshakeHeldUntil = handshake.Task };
        upstream.Answer(_ => WithLength(Json));
        var clock = new FakeClock();
        using var client = NewClient(clock, (_, presented, _, _) => presented?.GetCertHashString() == certificate.GetCertHashString());
        var headersTimeout = TimeSpan.FromMilliseconds(300);

        var sending = client.SendAsync(
            Target(new Uri($"https://localhost:{upstream.Port}/v1")), Operation.ChatCompletions, "{}"u8.ToArray(), headersTimeout, default);
        await TestTimeouts.UntilAsync(() => Task.FromResult(upstream.Connections == 1));
        clock.Advance(headersTimeout); // while the handshake is held

        // Bounded by the headers timeout: not by the connect timeout (which says so), nor by the handshake's end (held).
        var e = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sending).WithTimeout();
        Assert.StartsWith("No response headers from", e.Message, StringComparison.Ordinal);
        handshake.SetResult();
        await upstream.ClosedByClient.WaitAsync(TestTimeouts.Default); // the handshake found the connection closed
        Assert.Empty(upstream.Requests);
    }

    [Fact]
    public async Task ARequestWhoseHeadersTimeoutPassedWhileItConnected_IsNotWritten()
    {
        using var certificate = SelfSigned();
        var handshake = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var upstream = new ScriptedUpstream(certificate) { HandshakeHeldUntil = handshake.Task };
        upstream.Answer(_ => WithLength(Json));
        var clock = new FakeClock();
        using var client = NewClient(clock, (_, presented, _, _) => presented?.GetCertHashString() == certificate.GetCertHashString());
        var target = Target(new Uri($"https://localhost:{upstream.Port}/v1"));

        var sending = client.SendAsync(target, Operation.ChatCompletions, "{}"u8.ToArray(), LongerThanConnecting, default);
        await TestTimeouts.UntilAsync(() => Task.FromResult(upstream.Connections == 1));
        clock.Advance(LongerThanConnecting + TimeSpan.FromSeconds(1)); // the headers' time runs out while the handshake is held
        handshake.SetResult();

        var e = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sending).WithTimeout();
        Assert.StartsWith("No response headers from", e.Message, StringComparison.Ordinal);
        Assert.Equal(1, client.IdleConnections); // never used, so kept
        // The next request goes on that connection, whose requests the upstream reads in order: had the first been
        // written, it would be the one the upstream saw first.
        using (var next = await client.SendAsync(target, Operation.ChatCompletions, "{\"next\":1}"u8.ToArray(), default).WithTimeout())
        {
            Assert.Equal(Json, await ReadAllAsync(next));
        }
        Assert.EndsWith("{\"next\":1}", Assert.Single(upstream.Requests), StringComparison.Ordinal);
        Assert.Equal(1, upstream.Connections);
    }

    [Fact]
    public void ACredentialThatCannotBeAHeaderValue_IsAStartUpError_ThatDoesNotRepeatIt()
    {
        var yaml = """
            vendors:
              - { id: v, kind: openai, baseUrl: "http://127.0.0.1:1/v1" }
            models:
              - { id: m, vendor: v, capabilities: [chat], contextWindow: 8192 }
            deployments:
              - { id: d, model: m, region: sg, credentialEnv: CRED, price: { input: 1, output: 1 } }
            """;
        var loaded = ConfigLoader.Parse(yaml, "/tmp");

        var active = ActiveConfig.TryCreate(loaded.Config!, _ => "sk-secret\r\nX-Injected: 1", DateTimeOffset.UnixEpoch, out var errors);

        Assert.Null(active);
        var error = Assert.Single(errors);
        Assert.Contains("CRED", error, StringComparison.Ordinal);
        Assert.DoesNotContain("sk-secret", error, StringComparison.Ordinal);
    }

    private static X509Certificate2 SelfSigned()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pfx), null);
    }
}
