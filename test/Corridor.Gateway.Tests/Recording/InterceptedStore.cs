using System.Reflection;
using System.Runtime.ExceptionServices;
using Corridor.Core.Audit;
using Corridor.Core.Metering;
using Corridor.Storage;

namespace Corridor.Gateway.Tests.Recording;

/// <summary>
/// A real store whose audit appends (<see cref="ICorridorStore.AppendAuditAsync"/>, <see cref="ICorridorStore.AppendAuditAgainAsync"/>)
/// or ledger appends (<see cref="ICorridorStore.AppendLedgerAsync"/>) a test stands in front of (to hold one, to fail one
/// after it landed, or to refuse them); every other call goes through, unless the test fails it (<see cref="Failing"/>).
/// </summary>
public class InterceptedStore : DispatchProxy
{
    /// <summary>Given the entries and the real store's append, does the append as the test wants it done.</summary>
    public delegate Task<IReadOnlyList<AuditRecord>> AuditAppend(IReadOnlyList<AuditEntry> entries, Func<Task<IReadOnlyList<AuditRecord>>> append);

    /// <summary>Given the rows, the writer's token and the real store's append, does the append as the test wants it done.</summary>
    public delegate Task LedgerAppend(IReadOnlyList<LedgerEntry> entries, CancellationToken cancellationToken, Func<Task> append);

    private ICorridorStore _inner = null!;
    private AuditAppend? _appendAudit;
    private LedgerAppend? _appendLedger;
    private Func<string, Exception?>? _fail;
    private Func<string, bool>? _hang;
    private bool _deaf;
    private Action<string>? _hanging;

    /// <summary>A real store each of whose calls, by method name, throws the exception <paramref name="fail"/> gives (none: it goes through).</summary>
    public static ICorridorStore Failing(ICorridorStore inner, Func<string, Exception?> fail)
    {
        var proxy = Wrap(inner, null, null);
        ((InterceptedStore)(object)proxy)._fail = fail;
        return proxy;
    }

    /// <summary>
    /// A real store each of whose calls, by method name, does not answer while <paramref name="hangs"/> says so (a database
    /// that stopped answering): such a call ends only when its token is cancelled, as the driver's does; the rest go through.
    /// </summary>
    /// <remarks>With <paramref name="heedsCancellation"/> false a call that hangs never ends, cancelled or not: a driver
    /// whose cancellation waits on the server that stopped answering. <paramref name="hanging"/> hears each call that hangs.</remarks>
    public static ICorridorStore Hanging(ICorridorStore inner, Func<string, bool> hangs, bool heedsCancellation = true, Action<string>? hanging = null)
    {
        var proxy = Wrap(inner, null, null);
        ((InterceptedStore)(object)proxy)._hang = hangs;
        ((InterceptedStore)(object)proxy)._deaf = !heedsCancellation;
        ((InterceptedStore)(object)proxy)._hanging = hanging;
        return proxy;
    }

    public static ICorridorStore Wrap(ICorridorStore inner, AuditAppend appendAudit) => Wrap(inner, appendAudit, null);

    public static ICorridorStore Wrap(ICorridorStore inner, LedgerAppend appendLedger) => Wrap(inner, null, appendLedger);

    private static ICorridorStore Wrap(ICorridorStore inner, AuditAppend? appendAudit, LedgerAppend? appendLedger)
    {
        var proxy = Create<ICorridorStore, InterceptedStore>();
        var self = (InterceptedStore)(object)proxy;
        self._inner = inner;
        self._appendAudit = appendAudit;
        self._appendLedger = appendLedger;
        return proxy;
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(targetMethod);
        if (_fail?.Invoke(targetMethod.Name) is { } failure)
        {
            throw failure;
        }

        if (_hang?.Invoke(targetMethod.Name) is true)
        {
            _hanging?.Invoke(targetMethod.Name);
            return Unanswered(targetMethod.ReturnType, _deaf ? default : args?.OfType<CancellationToken>().FirstOrDefault() ?? default);
        }

        if (_appendLedger is not null && targetMethod.Name is nameof(ICorridorStore.AppendLedgerAsync))
        {
            return _appendLedger((IReadOnlyList<LedgerEntry>)args![0]!, (CancellationToken)args[1]!, () => (Task)targetMethod.Invoke(_inner, args)!);
        }

        if (_appendAudit is not null && targetMethod.Name is nameof(ICorridorStore.AppendAuditAsync) or nameof(ICorridorStore.AppendAuditAgainAsync))
        {
            var entries = (IReadOnlyList<AuditEntry>)args![0]!;
            return _appendAudit(entries, () => (Task<IReadOnlyList<AuditRecord>>)targetMethod.Invoke(_inner, args)!);
        }

        try
        {
            return targetMethod.Invoke(_inner, args);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            ExceptionDispatchInfo.Throw(e.InnerException);
            throw;
        }
    }

    /// <summary>A task of <paramref name="type"/> (Task, ValueTask, or either of a result) that ends, cancelled, only with <paramref name="cancellationToken"/>.</summary>
    private static object Unanswered(Type type, CancellationToken cancellationToken)
    {
        var cancelled = Task.Delay(Timeout.Infinite, cancellationToken);
        if (type == typeof(Task))
        {
            return cancelled;
        }
        if (type == typeof(ValueTask))
        {
            return new ValueTask(cancelled);
        }
        var result = type.GetGenericArguments()[0];
        var task = typeof(InterceptedStore).GetMethod(nameof(Cancelled), BindingFlags.NonPublic | BindingFlags.Static)!.MakeGenericMethod(result).Invoke(null, [cancelled])!;
        return type.GetGenericTypeDefinition() == typeof(ValueTask<>) ? Activator.CreateInstance(type, task)! : task;
    }

    private static async Task<T> Cancelled<T>(Task cancelled)
    {
        await cancelled;
        throw new InvalidOperationException("unreachable: the task only ends cancelled");
    }
}
