using System.Runtime.CompilerServices;
using Corridor.Monitor.Sketches;

namespace Corridor.Monitor.Features;

/// <summary>What one pass over a prompt's text found.</summary>
internal struct ScanResult
{
    public int Words;
    public int Bytes;

    /// <summary>Hash of the lower-cased words, digits included: equal prompts (up to case and spacing) hash equal.</summary>
    public ulong ContentHash;

    /// <summary>Hash of the skeleton: words with numbers, names and quoted or code payloads masked.</summary>
    public ulong SkeletonHash;

    /// <summary>Hash of the skeleton's first <see cref="TextScanner.FrameTokens"/> tokens.</summary>
    public ulong HeadHash;

    /// <summary>Hash of the skeleton's last <see cref="TextScanner.FrameTokens"/> tokens (equal to the head when the text is that short).</summary>
    public ulong TailHash;

    public MinHashSignature MinHash;

    public int ReasoningMarkers;
    public int VerbosityMarkers;
    public int FormatMarkers;
}

/// <summary>
/// One allocation-free pass over UTF-8 text: words (ASCII folded to lower case; hyphens and punctuation split
/// words), the skeleton (numbers, capitalised names, quoted strings and code masked), the head and tail frames of the
/// skeleton, word 3-shingle MinHash, and marker phrases. Text is fed in parts; words never span parts.
/// </summary>
internal struct TextScanner
{
    public const int FrameTokens = 6;
    public const int MaxShingles = 256;
    public const int MaxSkeletonTokens = 1024;

    /// <summary>A first or last line this short (in skeleton tokens) is a frame on its own: a template's wrapper line.</summary>
    public const int MaxFrameLineTokens = 16;

    private static readonly ulong NumberToken = Hashing.Mix(0x4E554D4E554D4E55UL);
    private static readonly ulong NameToken = Hashing.Mix(0x4E414D454E414D45UL);
    private static readonly ulong QuoteToken = Hashing.Mix(0x51554F5445515554UL);
    private static readonly ulong CodeToken = Hashing.Mix(0x434F4445434F4445UL);

    private ScanResult _result;

    // The word being read.
    private ulong _wordFnv;
    private int _wordLength;
    private bool _wordHasDigit;
    private bool _wordStartsUpper;

    // Context.
    private bool _sentenceStart;
    private byte _quoteClose; // 0 = not in a quote; '"' or '`' or 0x9D (the last byte of U+201D)
    private int _quoteBytes;
    private bool _inCode;
    private int _hashRun;
    private int _backticks;
    private ulong _lastSkeleton;

    // Recent raw words (for phrases and shingles) and skeleton frames.
    private Ring4 _recent;
    private int _recentCount;
    private int _shingles;
    private SkeletonFrame _head;
    private SkeletonFrame _tail;
    private int _skeletonTokens;

    // Lines of the skeleton: the first and last non-empty lines are frames when the text has several lines.
    private ulong _lineHash;
    private int _lineTokens;
    private int _lines;
    private ulong _firstLineHash;
    private int _firstLineTokens;
    private ulong _lastLineHash;
    private int _lastLineTokens;

    [InlineArray(4)]
    private struct Ring4
    {
        private ulong _element0;
    }

    [InlineArray(FrameTokens)]
    private struct SkeletonFrame
    {
        private ulong _element0;
    }

    public static TextScanner Create()
    {
        var scanner = default(TextScanner);
        scanner._sentenceStart = true;
        scanner._result.ContentHash = Hashing.FnvOffset;
        scanner._result.SkeletonHash = Hashing.FnvOffset;
        scanner._wordFnv = Hashing.FnvOffset;
        MinHash.Reset(ref scanner._result.MinHash);
        return scanner;
    }

    public readonly int BytesSeen => _result.Bytes;

    /// <summary>Scans a part of the text.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Feed(ReadOnlySpan<byte> text)
    {
        _result.Bytes += text.Length;
        for (var i = 0; i < text.Length; i++)
        {
            var b = text[i];
            if (_quoteClose != 0 && ++_quoteBytes > 400)
            {
                _quoteClose = 0;
            }

            if (IsWordByte(b))
            {
                if (_backticks != 0)
                {
                    ResolveBackticks();
                }

                if (b == 0xE2 && i + 2 < text.Length && text[i + 1] == 0x80)
                {
                    // Typographic punctuation: U+2018/2019 act as apostrophes, U+201C/201D as quotes, the rest split words.
                    var third = text[i + 2];
                    if (third is 0x98 or 0x99)
                    {
                        if (_wordLength > 0)
                        {
                            AppendWordByte((byte)'\'');
                        }

                        i += 2;
                        continue;
                    }

                    EndWord();
                    if (third == 0x9C && _quoteClose == 0 && !_inCode)
                    {
                        OpenQuote(0x9D);
                    }
                    else if (third == 0x9D && _quoteClose == 0x9D)
                    {
                        _quoteClose = 0;
                    }

                    i += 2;
                    continue;
                }

                AppendWordByte(b);
                continue;
            }

            if (b == (byte)'\'' && _wordLength > 0 && i + 1 < text.Length && IsAsciiLetter(text[i + 1]))
            {
                AppendWordByte(b);
                continue;
            }

            EndWord();
            if (b == (byte)'#')
            {
                _hashRun++;
                continue;
            }

            if (_hashRun >= 2)
            {
                Word(Lexicon.SectionMark, skeletonToken: Lexicon.SectionMark);
            }

            _hashRun = 0;
            Punctuation(b);
        }
    }

    /// <summary>Ends the current part: words and quotes do not continue into the next one.</summary>
    public void Break()
    {
        EndWord();
        if (_hashRun >= 2)
        {
            Word(Lexicon.SectionMark, skeletonToken: Lexicon.SectionMark);
        }

        _hashRun = 0;
        _quoteClose = 0;
        _sentenceStart = true;
        EndLine();
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public ScanResult Finish()
    {
        Break();
        if (_recentCount is > 0 and < 3)
        {
            // Too short for 3-shingles: its words are its shingles.
            for (var i = 0; i < _recentCount; i++)
            {
                MinHash.Add(ref _result.MinHash, Hashing.Mix(_recent[i] ^ 0x5348494E474C45UL));
            }
        }

        MinHash.Densify(ref _result.MinHash);
        var result = _result;
        result.ContentHash = _result.Words == 0 ? 0 : Hashing.Mix(_result.ContentHash);
        result.SkeletonHash = _skeletonTokens == 0 ? 0 : Hashing.Mix(_result.SkeletonHash);
        if (_skeletonTokens > 0)
        {
            var headCount = Math.Min(_skeletonTokens, FrameTokens);
            var head = (ulong)headCount;
            for (var i = 0; i < headCount; i++)
            {
                head = Hashing.Combine(head, _head[i]);
            }

            result.HeadHash = head;
            if (_lines >= 2 && _firstLineTokens <= MaxFrameLineTokens)
            {
                result.HeadHash = _firstLineHash;
            }

            if (_lines >= 2 && _lastLineTokens <= MaxFrameLineTokens)
            {
                result.TailHash = _lastLineHash;
            }
            else if (_skeletonTokens <= FrameTokens)
            {
                result.TailHash = head;
            }
            else
            {
                var tail = (ulong)FrameTokens | 0x100;
                for (var i = 0; i < FrameTokens; i++)
                {
                    tail = Hashing.Combine(tail, _tail[(_skeletonTokens + i) % FrameTokens]);
                }

                result.TailHash = tail;
            }
        }

        return result;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsWordByte(byte b) => (uint)((b | 0x20) - 'a') <= 'z' - 'a' || (uint)(b - '0') <= 9 || b >= 0x80;

    private static bool IsAsciiLetter(byte b) => (uint)((b | 0x20) - 'a') <= 'z' - 'a';

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void AppendWordByte(byte b)
    {
        if (_wordLength == 0)
        {
            _wordStartsUpper = (uint)(b - 'A') <= 'Z' - 'A';
            _wordHasDigit = false;
        }

        if ((uint)(b - '0') <= 9)
        {
            _wordHasDigit = true;
        }
        else if ((uint)(b - 'A') <= 'Z' - 'A')
        {
            b = (byte)(b | 0x20);
        }

        _wordFnv = (_wordFnv ^ b) * Hashing.FnvPrime;
        _wordLength++;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void EndWord()
    {
        if (_wordLength == 0)
        {
            return;
        }

        var hash = Hashing.Mix(_wordFnv);
        ulong skeleton;
        if (_wordHasDigit)
        {
            skeleton = NumberToken;
        }
        else if (_wordStartsUpper && !_sentenceStart)
        {
            skeleton = NameToken;
        }
        else
        {
            skeleton = hash;
        }

        _wordFnv = Hashing.FnvOffset;
        _wordLength = 0;
        _sentenceStart = false;
        Word(hash, skeleton);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Word(ulong hash, ulong skeletonToken)
    {
        _result.Words++;
        _result.ContentHash = (_result.ContentHash ^ hash) * Hashing.FnvPrime;

        // Recent words: phrases and shingles.
        _recent[_recentCount & 3] = hash;
        _recentCount++;
        if (_recentCount >= 3 && _shingles < MaxShingles)
        {
            var shingle = Hashing.Mix((_recent[(_recentCount - 3) & 3] * 0x9E3779B97F4A7C15UL) ^ (_recent[(_recentCount - 2) & 3] * 0xC2B2AE3D27D4EB4FUL) ^ hash);
            MinHash.Add(ref _result.MinHash, shingle);
            _shingles++;
        }

        if (Lexicon.MayEndPhrase(hash))
        {
            MatchPhrases();
        }

        // Skeleton: payload inside quotes and code is masked by one token for the whole span.
        if (_quoteClose != 0 || _inCode)
        {
            return;
        }

        if ((skeletonToken == NumberToken || skeletonToken == NameToken) && skeletonToken == _lastSkeleton)
        {
            return;
        }

        SkeletonToken(skeletonToken);
    }

    private void SkeletonToken(ulong token)
    {
        _lastSkeleton = token;
        if (_skeletonTokens >= MaxSkeletonTokens)
        {
            return;
        }

        _result.SkeletonHash = (_result.SkeletonHash ^ token) * Hashing.FnvPrime;
        if (_lineTokens < MaxFrameLineTokens + 1)
        {
            _lineHash = Hashing.Combine(_lineHash == 0 ? 0x4C494E45UL : _lineHash, token);
        }

        _lineTokens++;
        if (_skeletonTokens < FrameTokens)
        {
            _head[_skeletonTokens] = token;
        }

        _tail[_skeletonTokens % FrameTokens] = token;
        _skeletonTokens++;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void MatchPhrases()
    {
        Span<ulong> words = stackalloc ulong[Lexicon.MaxPhraseWords];
        var available = Math.Min(_recentCount, Lexicon.MaxPhraseWords);
        for (var length = 1; length <= available; length++)
        {
            for (var i = 0; i < length; i++)
            {
                words[i] = _recent[(_recentCount - length + i) & 3];
            }

            if (Lexicon.TryMatch(Lexicon.PhraseHash(words[..length]), out var family, out var weight))
            {
                switch (family)
                {
                    case MarkerFamily.Reasoning:
                        _result.ReasoningMarkers += weight;
                        break;
                    case MarkerFamily.Verbosity:
                        _result.VerbosityMarkers += weight;
                        break;
                    default:
                        _result.FormatMarkers += weight;
                        break;
                }
            }
        }
    }

    private void OpenQuote(byte close)
    {
        _quoteClose = close;
        _quoteBytes = 0;
        SkeletonToken(QuoteToken);
    }

    private void EndLine()
    {
        if (_lineTokens == 0)
        {
            return;
        }

        _lines++;
        var hash = Hashing.Combine(_lineHash, (ulong)Math.Min(_lineTokens, MaxFrameLineTokens + 1)) | 1;
        if (_lines == 1)
        {
            _firstLineHash = hash;
            _firstLineTokens = _lineTokens;
        }

        _lastLineHash = hash;
        _lastLineTokens = _lineTokens;
        _lineHash = 0;
        _lineTokens = 0;
    }

    private void ResolveBackticks()
    {
        // A single backtick outside code opens inline code: masked like a quoted string.
        if (_backticks == 1 && !_inCode && _quoteClose == 0)
        {
            OpenQuote((byte)'`');
        }

        _backticks = 0;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Punctuation(byte b)
    {
        if (b == (byte)'\n')
        {
            EndLine();
        }

        if (_quoteClose != 0)
        {
            if (b == _quoteClose || b == (byte)'\n')
            {
                _quoteClose = 0;
            }

            return;
        }

        if (b == (byte)'`')
        {
            _backticks++;
            if (_backticks == 3)
            {
                _backticks = 0;
                _inCode = !_inCode;
                if (_inCode)
                {
                    SkeletonToken(CodeToken);
                }
            }

            return;
        }

        if (_backticks != 0)
        {
            ResolveBackticks();
            if (_quoteClose != 0)
            {
                Punctuation(b);
                return;
            }
        }

        if (_inCode)
        {
            return;
        }

        switch (b)
        {
            case (byte)'"':
                OpenQuote((byte)'"');
                break;
            case (byte)'.' or (byte)'!' or (byte)'?' or (byte)':' or (byte)'\n' or (byte)';':
                _sentenceStart = true;
                break;
        }
    }
}
