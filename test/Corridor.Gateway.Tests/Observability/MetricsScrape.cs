using System.Globalization;
using Corridor.Testing;

namespace Corridor.Gateway.Tests.Observability;

/// <summary>One scrape of a live gateway's <c>/metrics</c>: each sample line's series (name and labels) and value.</summary>
internal static class MetricsScrape
{
    /// <summary>Scrapes through <paramref name="scraper"/>, a client with the metrics token or the admin token.</summary>
    public static async Task<Dictionary<string, double>> ScrapeAsync(HttpClient scraper)
    {
        var text = await scraper.GetStringAsync("/metrics").WithTimeout();
        var samples = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!line.StartsWith('#'))
            {
                var space = line.LastIndexOf(' ');
                samples[line[..space]] = double.Parse(line[(space + 1)..], CultureInfo.InvariantCulture);
            }
        }
        return samples;
    }

    /// <summary>Scrapes until <paramref name="requests"/> more requests are counted: a request is recorded just after its response.</summary>
    public static async Task<Dictionary<string, double>> ScrapeAfterAsync(HttpClient scraper, Dictionary<string, double> before, int requests)
    {
        using var cts = new CancellationTokenSource(TestTimeouts.Default);
        while (true)
        {
            var after = await ScrapeAsync(scraper);
            if (Requests(after) >= Requests(before) + requests)
            {
                return after;
            }
            await Task.Delay(20, cts.Token);
        }

        static double Requests(Dictionary<string, double> samples) =>
            samples.Where(s => s.Key.StartsWith("corridor_requests_total", StringComparison.Ordinal)).Sum(s => s.Value);
    }

    public static double Delta(Dictionary<string, double> before, Dictionary<string, double> after, string series) =>
        after.GetValueOrDefault(series) - before.GetValueOrDefault(series);
}
