using Corridor.Core.Screening;
using Corridor.Core.Tenants;

namespace Corridor.Core.Tests.Screening;

/// <summary>A made-up list in the shape of a real one: companies, aliases, countries, programmes. No real listings.</summary>
internal static class SampleList
{
    public const string Csv = """
        name,aliases,country,program
        "Huawei Technologies Co., Ltd.",Huawei;Hua Wei Technologies,CN,EXPORT-CONTROL
        Shenzhen Dragonfly Microsystems Co. Ltd.,Dragonfly Micro,CN,EXPORT-CONTROL
        China Mobile Communications Group Co. Ltd.,China Mobile,CN,INVESTMENT-BAN
        Société Générale d'Armement Lourd S.A.,SGAL,FR,ARMS-EMBARGO
        Müller & Söhne Präzisionstechnik GmbH,Mueller und Soehne,DE,ARMS-EMBARGO
        Volga Petroleum Trading OOO,"Volga Petro; ООО Волга Петро",RU,SANCTIONS-RU
        Parsian Naval Logistics PJSC,,IR,SANCTIONS-IR
        Kestrel Avionics LLC,,,EXPORT-CONTROL
        Star,,,SANCTIONS-XX
        Golden Star Co.,,,SANCTIONS-XX
        """;

    public static IReadOnlyList<DeniedPartyEntry> Entries { get; } = DeniedPartyCsv.Parse(new StringReader(Csv)).Entries;

    public static DeniedPartyScreener Screener { get; } = new(Entries);
}

public sealed class NameNormalizerTests
{
    [Theory]
    [InlineData("HUAWEI TECHNOLOGIES", "huawei technologies")]
    [InlineData("Société Générale", "societe generale")]
    [InlineData("Müller & Söhne Präzisionstechnik GmbH", "muller and sohne prazisionstechnik")]
    [InlineData("Łódź Straße Øresund", "lodz strasse oresund")]
    [InlineData("Nguyễn Thị Trading", "nguyen thi trading")]
    [InlineData("O'Neil-Smith (Holdings)", "oneil smith holdings")]
    public void CaseDiacriticsAndPunctuation_AreFolded(string name, string expected) =>
        Assert.Equal(expected, NameNormalizer.Normalize(name));

    [Theory]
    [InlineData("\uFF28\uFF55\uFF41\uFF57\uFF45\uFF49 Technologies", "huawei technologies")] // full-width, as CJK keyboards type Latin
    [InlineData("\uFF28\uFF35\uFF21\uFF37\uFF25\uFF29\u3000\uFF34\uFF25\uFF23\uFF28\uFF2E\uFF2F\uFF2C\uFF2F\uFF27\uFF29\uFF25\uFF33\uFF0C\uFF2C\uFF34\uFF24\uFF0E", "huawei technologies")]
    [InlineData("Shenzhen Dragon\uFB02y Microsystems", "shenzhen dragonfly microsystems")] // the fl ligature
    [InlineData("\u1E24uawei Technologies", "huawei technologies")] // H with a dot below, from Latin Extended Additional
    public void LatinLettersWrittenOtherwise_AreFoldedToPlainLetters(string name, string expected) =>
        Assert.Equal(expected, NameNormalizer.Normalize(name));

    [Theory]
    [InlineData("Huawei Technologies Co., Ltd.")]
    [InlineData("Huawei Technologies Co.,Ltd")]
    [InlineData("Huawei Technologies Co Ltd")]
    [InlineData("Huawei Technologies Company Limited")]
    [InlineData("Huawei Technologies Corp.")]
    [InlineData("Huawei Technologies Corporation")]
    [InlineData("Huawei Technologies Inc.")]
    [InlineData("Huawei Technologies, LLC")]
    [InlineData("Huawei Technologies L.L.C.")]
    [InlineData("Huawei Technologies GmbH")]
    [InlineData("Huawei Technologies S.A.")]
    [InlineData("Huawei Technologies S. A.")]
    [InlineData("Huawei Technologies SA de CV")]
    [InlineData("Huawei Technologies PLC")]
    [InlineData("Huawei Technologies P.L.C.")]
    [InlineData("Huawei Technologies Pte. Ltd.")]
    [InlineData("Huawei Technologies Private Limited")]
    [InlineData("Huawei Technologies Sdn. Bhd.")]
    [InlineData("Huawei Technologies GmbH & Co. KG")]
    [InlineData("OOO Huawei Technologies")]
    [InlineData("The Huawei Technologies")]
    public void LegalForms_AreDropped(string name) =>
        Assert.Equal("huawei technologies", NameNormalizer.Normalize(name));

    [Theory]
    [InlineData("Limited", "limited")]
    [InlineData("Banco de", "banco de")]
    [InlineData("Corp", "corp")]
    public void TheLastToken_IsNeverDropped_NorAWordOnlyPartOfALegalForm(string name, string expected) =>
        Assert.Equal(expected, NameNormalizer.Normalize(name));
}

public sealed class NameSimilarityTests
{
    [Theory]
    [InlineData("Hua Wei Technologies", "Huawei Technologies")]
    [InlineData("Shen Zhen Dragonfly", "Shenzhen Dragonfly")]
    [InlineData("Technologies Huawei", "Huawei Technologies")]
    [InlineData("Technologies Hua Wei", "Huawei Technologies")]
    [InlineData("huawei technologies", "HUAWEI TECHNOLOGIES CO., LTD.")]
    public void SpacingOrderAndLegalForms_ScoreOne(string a, string b) =>
        Assert.Equal(1.0, NameSimilarity.Score(a, b));

    [Theory]
    [InlineData("Huawei Technolgies", "Huawei Technologies")]
    [InlineData("Hauwei Technologies", "Huawei Technologies")]
    [InlineData("Parsian Naval Logistic", "Parsian Naval Logistics")]
    [InlineData("Shenzhen Dragonfy Microsystems", "Shenzhen Dragonfly Microsystems")]
    public void ASmallMisspellingOfALongName_StillScoresHigh(string a, string b) =>
        Assert.InRange(NameSimilarity.Score(a, b), 0.9, 0.99);

    [Theory]
    [InlineData("Kest", "Kist")]
    [InlineData("Acme", "Acne")]
    public void ShortWords_MustBeSpelledExactly(string a, string b) =>
        Assert.Equal(0, NameSimilarity.Score(a, b));

    [Theory]
    [InlineData("China Mobile", "China Merchants")]
    [InlineData("China Mobile Communications", "China Merchants Bank")]
    [InlineData("Star Logistics", "Star")]
    [InlineData("Golden Star Trading", "Golden Star Co.")]
    [InlineData("Mobile Solutions", "China Mobile Communications Group")]
    [InlineData("Shenzhen Ltd", "Shenzhen Dragonfly Microsystems")]
    [InlineData("Technologies Pte Ltd", "Huawei Technologies")]
    [InlineData("Parsons Naval Logistics", "Parsian Naval Logistics")]
    public void CommonOrShortWordsAlone_DoNotMatch(string a, string b) =>
        Assert.True(NameSimilarity.Score(a, b) < DeniedPartyScreener.DefaultThreshold, $"{a} ~ {b}: {NameSimilarity.Score(a, b)}");

    [Theory]
    [InlineData("Huawei Device Singapore", "Huawei")]
    [InlineData("Volga Petro Holdings", "Volga Petro")]
    public void AListedNameInsideALongerOne_ScoresAsContained(string a, string b) =>
        Assert.Equal(NameSimilarity.ContainedScore, NameSimilarity.Score(a, b));

    [Theory]
    [InlineData("kitten", "sitting", 3)]
    [InlineData("huawei", "huawei", 0)]
    [InlineData("", "abc", 3)]
    [InlineData("hauwei", "huawei", 1)]
    public void EditDistance_IsLevenshtein(string a, string b, int expected) =>
        Assert.Equal(expected, NameSimilarity.EditDistance(a, b));
}

public sealed class DeniedPartyScreenerTests
{
    private static readonly DeniedPartyScreener Screener = SampleList.Screener;

    [Theory]
    [InlineData("Huawei Technologies Co., Ltd.", "Huawei Technologies Co., Ltd.")]
    [InlineData("HUA WEI TECHNOLOGIES PTE LTD", "Huawei Technologies Co., Ltd.")]
    [InlineData("Shen Zhen Dragonfly Microsystems Limited", "Shenzhen Dragonfly Microsystems Co. Ltd.")]
    [InlineData("Societe Generale d'Armement Lourd", "Société Générale d'Armement Lourd S.A.")]
    [InlineData("S.G.A.L.", "Société Générale d'Armement Lourd S.A.")]
    [InlineData("Muller und Sohne", "Müller & Söhne Präzisionstechnik GmbH")]
    [InlineData("Mueller und Soehne GmbH", "Müller & Söhne Präzisionstechnik GmbH")]
    [InlineData("Logistics Parsian Naval", "Parsian Naval Logistics PJSC")]
    [InlineData("China Mobile Ltd", "China Mobile Communications Group Co. Ltd.")]
    [InlineData("\uFF28\uFF55\uFF41\uFF57\uFF45\uFF49 Technologies Co., Ltd.", "Huawei Technologies Co., Ltd.")]
    public void ListedPartiesUnderOtherSpellings_Match(string name, string listed)
    {
        var match = Assert.Single(Screener.Screen(name, []));

        Assert.Equal(listed, match.Entry.Name);
        Assert.Equal(CountryEffect.None, match.Country);
    }

    [Theory]
    [InlineData("China Merchants Bank")]
    [InlineData("Star Logistics Pte Ltd")]
    [InlineData("Golden Star Trading")]
    [InlineData("Acme Logistics Pte. Ltd.")]
    [InlineData("Mobile Solutions GmbH")]
    [InlineData("Dragon Fly Travel")]
    [InlineData("General Armament Ltd")]
    [InlineData("Kestrel Bakery")]
    public void UnrelatedNames_DoNotMatch(string name) =>
        Assert.Empty(Screener.Screen(name, ["SG"]));

    [Fact]
    public void TheSameCountry_StrengthensAMatch_AndAnotherCountryWeakensIt()
    {
        var same = Assert.Single(Screener.Screen("Huawei Device Singapore", ["SG", "CN"]));
        var none = Assert.Single(Screener.Screen("Huawei Device Singapore", []));
        var other = Screener.Screen("Huawei Device Singapore", ["SG"]);

        Assert.Equal(CountryEffect.Same, same.Country);
        Assert.Equal(0.95, same.Score);
        Assert.Equal(0.90, none.Score);
        Assert.Empty(other);
        var below = Assert.Single(Screener.Screen("Huawei Device Singapore", ["SG"], threshold: 0.5));
        Assert.Equal(CountryEffect.Different, below.Country);
        Assert.Equal(0.80, below.Score);
        Assert.Equal(0.90, below.NameScore);
    }

    [Fact]
    public void AnIdenticalName_MatchesInAnyCountry()
    {
        var match = Assert.Single(Screener.Screen("Volga Petroleum Trading", ["SG"]));

        Assert.Equal(CountryEffect.Different, match.Country);
        Assert.Equal(0.90, match.Score);
    }

    [Fact]
    public void APartyWithoutACountry_IsScoredOnTheNameAlone()
    {
        var match = Assert.Single(Screener.Screen("Kestrel Avionics", ["US"]));

        Assert.Equal(CountryEffect.None, match.Country);
        Assert.Equal(1.0, match.Score);
    }

    [Fact]
    public void TheMatchedName_IsTheAliasThatMatchedBest()
    {
        var match = Assert.Single(Screener.Screen("Dragonfly Micro Pte Ltd", []));

        Assert.Equal("Dragonfly Micro", match.MatchedName);
    }

    [Fact]
    public void ATenant_IsScreenedWithItsCountryAndControllingCountry()
    {
        var tenant = new Tenant("hw-sg", "Huawei Device Singapore Pte. Ltd.", "SG", DateTimeOffset.UnixEpoch);

        Assert.Empty(Screener.Screen(tenant));
        Assert.Single(Screener.Screen(tenant with { ControllingCountry = "CN" }));
    }
}

public sealed class DeniedPartyCsvTests
{
    [Fact]
    public void TheSampleList_ParsesWithQuotedFieldsAndAliases()
    {
        var result = DeniedPartyCsv.Parse(new StringReader(SampleList.Csv));

        Assert.True(result.HeaderValid);
        Assert.Empty(result.Rejected);
        Assert.Equal(10, result.RowsRead);
        var huawei = result.Entries[0];
        Assert.Equal("Huawei Technologies Co., Ltd.", huawei.Name);
        Assert.Equal(["Huawei", "Hua Wei Technologies"], huawei.Aliases);
        Assert.Equal("CN", huawei.Country);
        Assert.Equal("EXPORT-CONTROL", huawei.Program);
        Assert.Equal(["Volga Petro", "ООО Волга Петро"], result.Entries[5].Aliases);
        Assert.Null(result.Entries[7].Country);
    }

    [Fact]
    public void BadRows_AreRejectedWithTheirLineNumbers_AndTheRestIsKept()
    {
        const string Csv = "program,name,country,aliases\r\n"
            + "P1,Good One,us,\r\n"
            + "P2,,US,\r\n"
            + "P3,Bad Country,XX,\r\n"
            + "\r\n"
            + "P4,\"Spans\nTwo Lines\",DE,\"A \"\"quoted\"\" alias\"\r\n"
            + "P5,Too,Many,Fields,Here\r\n"
            + "P6,\"Unclosed,US,\r\n";

        var result = DeniedPartyCsv.Parse(new StringReader(Csv));

        Assert.Equal(["Good One", "Spans Two Lines"], result.Entries.Select(e => e.Name));
        Assert.Equal("US", result.Entries[0].Country);
        Assert.Equal(["A \"quoted\" alias"], result.Entries[1].Aliases);
        Assert.Equal([3, 4, 8, 9], result.Rejected.Select(r => r.Line));
        Assert.Contains("name is empty", result.Rejected[0].Reason, StringComparison.Ordinal);
        Assert.Contains("'XX'", result.Rejected[1].Reason, StringComparison.Ordinal);
        Assert.Contains("expected 4 fields, found 5", result.Rejected[2].Reason, StringComparison.Ordinal);
        Assert.Contains("not closed", result.Rejected[3].Reason, StringComparison.Ordinal);
        Assert.Equal(6, result.RowsRead);
    }

    [Theory]
    [InlineData("")]
    [InlineData("name,country\nAcme,US\n")]
    public void AMissingOrIncompleteHeader_IsReported(string csv)
    {
        var result = DeniedPartyCsv.Parse(new StringReader(csv));

        Assert.False(result.HeaderValid);
        Assert.Empty(result.Entries);
    }
}

public sealed class TenantScreeningTests
{
    private static readonly DateTimeOffset T0 = new(2026, 6, 1, 8, 0, 0, TimeSpan.Zero);
    private static readonly Tenant Listed = new("hw", "Hua Wei Technologies Pte Ltd", "SG", T0) { ControllingCountry = "CN" };
    private static readonly Tenant Acme = new("acme", "Acme Logistics Pte. Ltd.", "SG", T0);

    [Fact]
    public void ANewTenantThatMatches_IsPending()
    {
        var outcome = TenantScreening.OnCreate(Listed, SampleList.Screener);

        Assert.Equal(DeniedPartyStatus.Pending, outcome.Tenant.DeniedParty);
        Assert.Equal("Huawei Technologies Co., Ltd.", outcome.Flagged!.Entry.Name);
        Assert.Equal(DeniedPartyStatus.Clear, TenantScreening.OnCreate(Acme, SampleList.Screener).Tenant.DeniedParty);
    }

    [Fact]
    public void AClearedTenant_IsScreenedAgainOnlyWhenItsNameOrCountriesChange()
    {
        var cleared = Listed with { DeniedParty = DeniedPartyStatus.Cleared };

        Assert.False(TenantScreening.OnUpdate(cleared, cleared with { Tier = VettingTier.Verified }, SampleList.Screener).IsFlagged);
        Assert.True(TenantScreening.OnUpdate(cleared, cleared with { LegalName = "Huawei Technologies Pte Ltd" }, SampleList.Screener).IsFlagged);
        Assert.True(TenantScreening.OnUpdate(cleared, cleared with { ControllingCountry = null, Country = "CN" }, SampleList.Screener).IsFlagged);
    }

    [Fact]
    public void AClearTenantRenamedToAListedName_IsPending()
    {
        var outcome = TenantScreening.OnUpdate(Acme, Acme with { LegalName = "Kestrel Avionics LLC" }, SampleList.Screener);

        Assert.Equal(DeniedPartyStatus.Pending, outcome.Tenant.DeniedParty);
    }

    [Fact]
    public void AConfirmedTenant_StaysConfirmed()
    {
        var confirmed = Listed with { DeniedParty = DeniedPartyStatus.Confirmed };

        var outcome = TenantScreening.OnUpdate(confirmed, confirmed with { LegalName = "Other Name" }, SampleList.Screener);

        Assert.Equal(DeniedPartyStatus.Confirmed, outcome.Tenant.DeniedParty);
        Assert.False(outcome.IsFlagged);
    }

    [Fact]
    public void ANewList_FlagsOnlyClearTenants()
    {
        Assert.True(TenantScreening.OnListChange(Listed, SampleList.Screener).IsFlagged);
        Assert.False(TenantScreening.OnListChange(Listed with { DeniedParty = DeniedPartyStatus.Cleared }, SampleList.Screener).IsFlagged);
    }

    [Fact]
    public void TheFlagRecord_NamesTheListedPartyAndTheScore()
    {
        var outcome = TenantScreening.OnCreate(Listed, SampleList.Screener);

        var entry = TenantScreening.FlagEntry(outcome.Tenant, outcome.Flagged!, "tenant.create", "cli:root", T0);

        Assert.Equal("denied_party.flag", entry.Action);
        Assert.Equal("hw", entry.Subject);
        using var details = System.Text.Json.JsonDocument.Parse(entry.Details);
        Assert.Equal("Huawei Technologies Co., Ltd.", details.RootElement.GetProperty("listed_name").GetString());
        Assert.Equal("EXPORT-CONTROL", details.RootElement.GetProperty("program").GetString());
        Assert.Equal("same", details.RootElement.GetProperty("country_effect").GetString());
        Assert.Equal(1.0, details.RootElement.GetProperty("score").GetDouble());
    }
}
