using System.Runtime.CompilerServices;
using Corridor.Monitor.Features;
using Corridor.Monitor.Sketches;

namespace Corridor.Monitor.Scoring;

/// <summary>
/// One subject's (key's or tenant's) behaviour over event time, in fixed memory: decayed counters for every
/// fraction, a distinct-prompt sketch per epoch, a top-k of prompt frames, the active-hour rings, a small temperature
/// table and inter-arrival moments. Never a list of requests. Instances are reused when a cold subject is evicted.
/// A batch's request (<see cref="RequestTraits.Batch"/>) counts in everything but the pacing (the inter-arrival moments
/// and <see cref="LiveHours"/>): its time is when Corridor's batch runner ran it, not when the client sent anything.
/// </summary>
internal sealed class SubjectState
{
    // Decayed counters (all with the same half-life, so their ratios are recency-weighted fractions).
    public const int Requests = 0;
    public const int Served = 1;
    public const int ReasoningAsked = 2;
    public const int VerbosityAsked = 3;
    public const int DatasetFormatted = 4;
    public const int VisibleTokens = 5;
    public const int InputTokens = 6;
    public const int Sampling = 7;
    public const int SingleTurn = 8;
    public const int Templated = 9;
    public const int GapLog = 10;
    public const int GapLogSquared = 11;
    public const int Gaps = 12;
    private const int CounterCount = 13;

    public const int FrameSlots = 32;
    public const int NoveltyPrecision = 7;
    public const int TemperatureSlots = 6;

    /// <summary>A prompt frame seen this many times by one subject is part of a template.</summary>
    public const int FrameRecurrence = 3;

    /// <summary>Gaps longer than this are pauses between sessions, not pacing.</summary>
    private const long MaxGapMs = 6 * 3_600_000L;

    private readonly float[] _temperatures = new float[TemperatureSlots];
    private readonly double[] _temperatureCounts = new double[TemperatureSlots];
    private readonly List<string> _keys = [];

    public SubjectState()
    {
        Reset(SubjectKind.Key, string.Empty, null);
    }

    public SubjectKind Kind { get; private set; }

    public string Id { get; private set; } = string.Empty;

    /// <summary>The tenant of a key (null for a tenant).</summary>
    public string? TenantId { get; private set; }

    public DecayedVector Counters { get; } = new(CounterCount);

    public HyperLogLog NoveltyCurrent { get; } = new(NoveltyPrecision);

    public HyperLogLog NoveltyPrevious { get; } = new(NoveltyPrecision);

    public SpaceSaving Frames { get; } = new(FrameSlots);

    /// <summary>The hours with any request, a batch's included: how long the subject has been at it (confidence).</summary>
    public HourRing Hours { get; } = new();

    /// <summary>The hours with a live request (not a batch's): whether the client rests at night (<see cref="Cadence"/>).</summary>
    public HourRing LiveHours { get; } = new();

    public long EpochIndex { get; private set; } = long.MinValue;

    public int NoveltyCountCurrent { get; private set; }

    public int NoveltyCountPrevious { get; private set; }

    /// <summary>Requests seen in the frame top-k's current window (halved with it each epoch).</summary>
    public long FrameRequests { get; private set; }

    public long FirstMs { get; private set; }

    /// <summary>The latest request, a batch's included: the subject is still active.</summary>
    public long LastMs { get; private set; }

    /// <summary>The latest live request, where the next live request's gap is measured from (<see cref="long.MinValue"/> before the first).</summary>
    public long LastLiveMs { get; private set; } = long.MinValue;

    /// <summary>Every request this subject sent since the monitor first saw it (not decayed).</summary>
    public long TotalRequests { get; private set; }

    // Scoring.
    public double[] SignalValues { get; } = new double[Signals.Count];

    public double Raw { get; set; }

    public double Confidence { get; set; }

    public double Score { get; set; }

    public long LastScoredMs { get; set; } = long.MinValue;

    public int SinceScored { get; set; }

    public bool Dirty { get; set; }

    /// <summary>The level record, once the subject reached a level or was pinned.</summary>
    public LevelTracker? Tracker { get; set; }

    // Cluster bookkeeping (keys only).
    public ulong LastSource { get; set; }

    public ulong LastFingerprint { get; set; }

    /// <summary>Whether the profile looked like a harvest at the last score (cluster evidence).</summary>
    public bool HarvestLike { get; set; }

    /// <summary>
    /// A key's best recent score among the clients (user agents) that use it, with that client's signal values: one
    /// harvesting client hidden among a legitimate application's traffic on the same key still shows.
    /// </summary>
    public double ClientScore { get; set; }

    public double ClientConfidence { get; set; }

    public long ClientScoreMs { get; set; }

    public ulong ClientScoreOwner { get; set; }

    public double[] ClientSignalValues { get; } = new double[Signals.Count];

    public long CadenceBins { get; set; }

    public long LastCadenceBin { get; set; } = long.MinValue;

    public long FirstSuspectMs { get; set; } = long.MinValue;

    /// <summary>A tenant's keys (at most <see cref="MaxTrackedKeys"/>), to tell whether a cluster holds all of them.</summary>
    public IReadOnlyList<string> Keys => _keys;

    public bool KeysOverflow { get; private set; }

    public const int MaxTrackedKeys = 64;

    /// <summary>Approximate bytes held by one state (the counted size used by the memory bound).</summary>
    public static long SizeBytes =>
        168 + (CounterCount * sizeof(double)) + (2 * (1 << NoveltyPrecision)) + (FrameSlots * 16) + (2 * 48)
        + (TemperatureSlots * 12) + (2 * Signals.Count * sizeof(double)) + (MaxTrackedKeys * 8);

    public void Reset(SubjectKind kind, string id, string? tenantId)
    {
        Kind = kind;
        Id = id;
        TenantId = tenantId;
        Counters.Clear();
        NoveltyCurrent.Clear();
        NoveltyPrevious.Clear();
        Frames.Clear();
        Hours.Reset();
        LiveHours.Reset();
        Array.Clear(_temperatures);
        Array.Clear(_temperatureCounts);
        Array.Clear(SignalValues);
        _keys.Clear();
        KeysOverflow = false;
        EpochIndex = long.MinValue;
        NoveltyCountCurrent = 0;
        NoveltyCountPrevious = 0;
        FrameRequests = 0;
        FirstMs = 0;
        LastMs = 0;
        LastLiveMs = long.MinValue;
        TotalRequests = 0;
        Raw = 0;
        Confidence = 0;
        Score = 0;
        LastScoredMs = long.MinValue;
        SinceScored = 0;
        Dirty = false;
        Tracker = null;
        LastSource = 0;
        LastFingerprint = 0;
        HarvestLike = false;
        ClientScore = 0;
        ClientConfidence = 0;
        ClientScoreMs = 0;
        ClientScoreOwner = 0;
        Array.Clear(ClientSignalValues);
        CadenceBins = 0;
        LastCadenceBin = long.MinValue;
        FirstSuspectMs = long.MinValue;
    }

    public void TrackKey(string keyId)
    {
        if (KeysOverflow || _keys.Contains(keyId))
        {
            return;
        }

        if (_keys.Count >= MaxTrackedKeys)
        {
            KeysOverflow = true;
            return;
        }

        _keys.Add(keyId);
    }

    /// <summary>
    /// Adds one request. Returns, through <paramref name="recurrentFrames"/>, the prompt frames that became recurrent
    /// for this subject with this request (for the cluster index); the count of them is returned.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public int Update(in RequestFeatures request, MonitorOptions options, Span<ulong> recurrentFrames)
    {
        var now = request.TimestampMs;
        var halfLife = (long)options.HalfLife.TotalMilliseconds;
        RotateEpoch(now, (long)options.Epoch.TotalMilliseconds);
        Counters.Advance(now, halfLife);

        if (TotalRequests == 0)
        {
            FirstMs = now;
        }

        TotalRequests++;
        if (now > LastMs)
        {
            LastMs = now;
        }

        Hours.Mark(now);
        if (!request.Has(RequestTraits.Batch))
        {
            AddLive(now);
        }

        Counters.Add(Requests, 1);

        var served = request.Has(RequestTraits.Served) && !request.Has(RequestTraits.Embeddings);
        var visible = request.VisibleOutputTokens;
        if (served)
        {
            Counters.Add(Served, 1);
            Counters.Add(VisibleTokens, Math.Min(visible, 65_536));
            Counters.Add(InputTokens, Math.Max(1, request.InputTokens));
        }

        if (served && AsksForReasoning(request, options))
        {
            Counters.Add(ReasoningAsked, 1);
        }

        var verbosity = request.VerbosityMarkers + (request.SystemVerbosityMarkers / 2.0);
        if (verbosity >= 3 && served)
        {
            Counters.Add(VerbosityAsked, 1);
        }

        if (request.FormatMarkers >= 2)
        {
            Counters.Add(DatasetFormatted, 1);
        }

        Counters.Add(Sampling, SamplingScore(request));

        if (!request.Has(RequestTraits.CarriesAnswers) && request.UserTurns <= 1)
        {
            Counters.Add(SingleTurn, 1);
        }

        if (!float.IsNaN(request.Temperature))
        {
            AddTemperature(request.Temperature);
        }

        if (request.ContentHash != 0)
        {
            NoveltyCurrent.Add(request.ContentHash);
            NoveltyCountCurrent++;
        }

        return AddFrames(request, recurrentFrames);
    }

    /// <summary>
    /// The pacing of live requests: the gap since the previous live one (a batch's requests in between neither end nor start
    /// a gap) and the hour it falls in.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void AddLive(long now)
    {
        if (LastLiveMs != long.MinValue && now > LastLiveMs && now - LastLiveMs <= MaxGapMs)
        {
            var gap = Math.Log(1 + ((now - LastLiveMs) / 1000.0));
            Counters.Add(GapLog, gap);
            Counters.Add(GapLogSquared, gap * gap);
            Counters.Add(Gaps, 1);
        }

        if (now > LastLiveMs)
        {
            LastLiveMs = now;
        }

        LiveHours.Mark(now);
    }

    /// <summary>
    /// Whether a request asked for the reasoning itself and got a long one: asked in words (≥ 3 marker points; system-prompt
    /// markers count half, as a tutoring app's system prompt may ask for steps for every user), the reasoning is in the
    /// visible answer, which must be long; asked through the API (<see cref="RequestTraits.ReasoningRequested"/>), it comes
    /// as reasoning tokens, which must be as many and must have come back as text the caller can keep
    /// (<see cref="RequestTraits.ReasoningReturned"/>): reasoning the vendor keeps hidden (OpenAI's reasoning models) cannot be
    /// harvested, however much of it was billed. Reasoning a model does unasked is not the caller's ask.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static bool AsksForReasoning(in RequestFeatures request, MonitorOptions options)
    {
        var markers = request.ReasoningMarkers + (request.SystemReasoningMarkers / 2.0);
        return (markers >= 3 && request.VisibleOutputTokens >= options.MinReasoningAnswerTokens)
            || (request.Has(RequestTraits.ReasoningRequested) && request.Has(RequestTraits.ReasoningReturned)
                && request.ReasoningTokens >= options.MinReasoningAnswerTokens);
    }

    /// <summary>How harvest-friendly the sampling parameters are: many samples, or log-probabilities on open generation.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double SamplingScore(in RequestFeatures request)
    {
        var samples = request.N >= 2 ? Math.Min(1.0, (request.N - 1) / 7.0) : 0;

        // Log-probabilities on a short classification answer calibrate a label; on open-ended generation they are
        // soft targets for training a student model.
        var openEnded = request.MaxTokens == 0 || request.MaxTokens >= 256;
        var logprobs = request.Has(RequestTraits.Logprobs) && openEnded && request.VisibleOutputTokens >= 32
            ? (request.TopLogprobs >= 5 ? 1.0 : 0.7)
            : 0;
        return Math.Max(samples, logprobs);
    }

    /// <summary>Computes every profile signal at <paramref name="now"/> into <see cref="SignalValues"/>; returns the raw profile score.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public double ComputeProfile(long now, MonitorOptions options)
    {
        var halfLife = (long)options.HalfLife.TotalMilliseconds;
        Counters.Advance(now, halfLife);
        var values = SignalValues;
        Array.Clear(values);
        var n = Counters[Requests];
        if (n <= 0)
        {
            Raw = 0;
            return 0;
        }

        values[(int)Signal.CotElicitation] = Saturate(Counters[ReasoningAsked] / n, 0.5);
        values[(int)Signal.VerbosityElicitation] = Saturate(Counters[VerbosityAsked] / n, 0.5);
        values[(int)Signal.DatasetFormat] = Saturate(Counters[DatasetFormatted] / n, 0.5);

        var served = Counters[Served];
        if (served >= 1)
        {
            var meanVisible = Counters[VisibleTokens] / served;
            var ratio = Counters[VisibleTokens] / Math.Max(1, Counters[InputTokens]);
            var byLength = Clamp((meanVisible - options.YieldTokensFloor) / options.YieldTokensSpan);
            var byRatio = Clamp((ratio - options.YieldRatioFloor) / options.YieldRatioSpan);
            values[(int)Signal.OutputYield] = (byLength + byRatio) / 2;
        }

        values[(int)Signal.HarvestSampling] = Saturate(Counters[Sampling] / n, 0.25);
        values[(int)Signal.TemperatureSweep] = Clamp((TemperaturesInUse() - 1) / 2.0);
        values[(int)Signal.ScriptedCoverage] = Clamp(Counters[SingleTurn] / n) * Clamp((DistinctRatio() - 0.6) / 0.3);
        values[(int)Signal.TemplatedPrompts] = Saturate(Counters[Templated] / n, 0.6);
        values[(int)Signal.MachineCadence] = Cadence(now);

        var raw = 0.0;
        for (var i = 0; i < Signals.ProfileCount; i++)
        {
            raw += options.Weights.For((Signal)i) * values[i];
        }

        Raw = Clamp(raw);
        return Raw;
    }

    /// <summary>How much evidence stands behind the profile: enough requests, over more than one sitting.</summary>
    public double ComputeConfidence(long now, MonitorOptions options) =>
        ConfidenceOf(Counters[Requests], Hours.ActiveHours(now), options);

    public static double ConfidenceOf(double requests, int activeHours, MonitorOptions options) =>
        requests / (requests + options.ConfidenceRequests) * (activeHours / (activeHours + options.ConfidenceHours));

    /// <summary>Distinct prompts over prompts in the last two epochs (1 when every prompt is new).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public double DistinctRatio()
    {
        var count = NoveltyCountCurrent + NoveltyCountPrevious;
        if (count == 0)
        {
            return 0;
        }

        var distinct = HyperLogLog.EstimateUnion(NoveltyCurrent, NoveltyPrevious);
        return Clamp(distinct / count);
    }

    public int TemperaturesInUse()
    {
        double total = 0;
        for (var i = 0; i < TemperatureSlots; i++)
        {
            total += _temperatureCounts[i];
        }

        if (total < 4)
        {
            return total > 0 ? 1 : 0;
        }

        var inUse = 0;
        for (var i = 0; i < TemperatureSlots; i++)
        {
            if (_temperatureCounts[i] >= 0.1 * total)
            {
                inUse++;
            }
        }

        return inUse;
    }

    /// <summary>
    /// Regular pacing (a narrow spread of log inter-arrival times) and activity round the clock, of live requests only: a
    /// subject that only runs batches has no pacing of its own to read, and scores 0 here, as one with too few gaps does.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public double Cadence(long now)
    {
        var gaps = Counters[Gaps];
        var regularity = 0.0;
        if (gaps >= 5)
        {
            var mean = Counters[GapLog] / gaps;
            var variance = Math.Max(0, (Counters[GapLogSquared] / gaps) - (mean * mean));
            regularity = Clamp((1.2 - Math.Sqrt(variance)) / 0.8);
        }

        var roundTheClock = Clamp((LiveHours.HoursOfDayCovered(now) - 14) / 8.0);
        return (0.6 * regularity) + (0.4 * roundTheClock);
    }

    public static double Clamp(double value) => value <= 0 || double.IsNaN(value) ? 0 : value >= 1 ? 1 : value;

    private static double Saturate(double fraction, double full) => Clamp(fraction / full);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private int AddFrames(in RequestFeatures request, Span<ulong> recurrent)
    {
        var found = 0;
        var isTemplated = false;
        if (request.HeadHash != 0)
        {
            FrameRequests++;
            var threshold = Math.Max(FrameRecurrence, (long)(0.03 * FrameRequests));
            var head = Frames.Add(request.HeadHash);
            isTemplated |= head >= threshold;
            if (head == FrameRecurrence && found < recurrent.Length)
            {
                recurrent[found++] = request.HeadHash;
            }

            if (request.TailHash != request.HeadHash && request.TailHash != 0)
            {
                var tail = Frames.Add(request.TailHash);
                isTemplated |= tail >= threshold;
                if (tail == FrameRecurrence && found < recurrent.Length)
                {
                    recurrent[found++] = request.TailHash;
                }
            }
        }

        if (request.SystemSkeletonHash != 0)
        {
            var system = Frames.Add(request.SystemSkeletonHash ^ 0x53595354454D00UL);
            if (system == FrameRecurrence && found < recurrent.Length)
            {
                recurrent[found++] = request.SystemSkeletonHash ^ 0x53595354454D00UL;
            }
        }

        if (isTemplated)
        {
            Counters.Add(Templated, 1);
        }

        return found;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void AddTemperature(float temperature)
    {
        var empty = -1;
        var smallest = 0;
        for (var i = 0; i < TemperatureSlots; i++)
        {
            if (_temperatureCounts[i] > 0 && Math.Abs(_temperatures[i] - temperature) < 0.001f)
            {
                _temperatureCounts[i]++;
                return;
            }

            if (_temperatureCounts[i] <= 0 && empty < 0)
            {
                empty = i;
            }

            if (_temperatureCounts[i] < _temperatureCounts[smallest])
            {
                smallest = i;
            }
        }

        var slot = empty >= 0 ? empty : smallest;
        _temperatures[slot] = temperature;
        _temperatureCounts[slot] = 1;
    }

    private void RotateEpoch(long now, long epochMs)
    {
        var epoch = now / epochMs;
        if (EpochIndex == long.MinValue)
        {
            EpochIndex = epoch;
            return;
        }

        if (epoch <= EpochIndex)
        {
            return;
        }

        // The distinct-prompt window is the current and the previous epoch; older sketches are dropped whole.
        if (epoch == EpochIndex + 1)
        {
            NoveltyCurrent.CopyTo(NoveltyPrevious);
            NoveltyCountPrevious = NoveltyCountCurrent;
        }
        else
        {
            NoveltyPrevious.Clear();
            NoveltyCountPrevious = 0;
        }

        NoveltyCurrent.Clear();
        NoveltyCountCurrent = 0;

        // Frame counts and temperatures age by halving once per epoch passed.
        for (var e = EpochIndex; e < epoch && e < EpochIndex + 8; e++)
        {
            Frames.Halve();
            FrameRequests /= 2;
            for (var i = 0; i < TemperatureSlots; i++)
            {
                _temperatureCounts[i] /= 2;
            }
        }

        EpochIndex = epoch;
    }
}
