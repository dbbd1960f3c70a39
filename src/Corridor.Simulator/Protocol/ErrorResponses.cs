using System.Text.Json;
using Corridor.Simulator.Http;
using Microsoft.AspNetCore.Http;

namespace Corridor.Simulator.Protocol;

/// <summary>Errors in each dialect's shape, with the type a client of that vendor expects for the status.</summary>
internal static class ErrorResponses
{
    public static Task WriteAsync(HttpContext context, Dialect dialect, int statusCode, string message, string? param = null, string? code = null)
    {
        if (statusCode == StatusCodes.Status429TooManyRequests)
        {
            context.Response.Headers.RetryAfter = "1";
        }

        var error = new ErrorBody(statusCode, message, param, code);
        return dialect == Dialect.Anthropic
            ? HttpBodies.WriteJsonAsync(context, statusCode, error, WriteAnthropic)
            : HttpBodies.WriteJsonAsync(context, statusCode, error, WriteOpenAI);
    }

    private static void WriteOpenAI(Utf8JsonWriter writer, ErrorBody error)
    {
        writer.WriteStartObject();
        writer.WriteStartObject("error"u8);
        writer.WriteString("message"u8, error.Message);
        writer.WriteString("type"u8, error.StatusCode switch
        {
            StatusCodes.Status403Forbidden => "permission_error",
            StatusCodes.Status429TooManyRequests => "requests",
            >= 500 => "server_error",
            _ => "invalid_request_error",
        });
        writer.WriteString("param"u8, error.Param);
        writer.WriteString("code"u8, error.Code ?? error.StatusCode switch
        {
            StatusCodes.Status401Unauthorized => "invalid_api_key",
            StatusCodes.Status404NotFound => "not_found",
            StatusCodes.Status429TooManyRequests => "rate_limit_exceeded",
            _ => null,
        });
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    private static void WriteAnthropic(Utf8JsonWriter writer, ErrorBody error)
    {
        writer.WriteStartObject();
        writer.WriteString("type"u8, "error"u8);
        writer.WriteStartObject("error"u8);
        writer.WriteString("type"u8, error.StatusCode switch
        {
            StatusCodes.Status401Unauthorized => "authentication_error",
            StatusCodes.Status403Forbidden => "permission_error",
            StatusCodes.Status404NotFound => "not_found_error",
            StatusCodes.Status413PayloadTooLarge => "request_too_large",
            StatusCodes.Status429TooManyRequests => "rate_limit_error",
            529 => "overloaded_error",
            >= 500 => "api_error",
            _ => "invalid_request_error",
        });
        writer.WriteString("message"u8, error.Message);
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    private readonly record struct ErrorBody(int StatusCode, string Message, string? Param, string? Code);
}
