/**
 * W3C trace context through tasks, with OpenTelemetry's API only: a no-op unless the
 * process registered a tracer provider (`@clearline/tracing`). A task sent while a span
 * is active (an API request, another task) carries `traceparent`/`tracestate` in its
 * Celery headers — an outbox row keeps them until it is published — and the worker runs
 * the task in a consumer span that continues that trace.
 */
import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Span,
} from '@opentelemetry/api';

const tracer = trace.getTracer('clearline-tasks');

/** Whether a propagator is registered (tracing is on in this process). */
function tracingOn(): boolean {
  return propagation.fields().length > 0;
}

/** Adds the active trace context to a task's headers (nothing when tracing is off). */
export function injectTraceContext(headers: Record<string, unknown>): void {
  if (tracingOn()) propagation.inject(context.active(), headers);
}

export interface TaskSpanOptions {
  task: string;
  taskId: string;
  queue: string;
  retries: number;
  /** The delivery's headers, where the sender put its trace context. */
  headers: Record<string, unknown> | undefined;
}

function startTaskSpan(options: TaskSpanOptions): Span {
  const parent = propagation.extract(ROOT_CONTEXT, options.headers ?? {});
  const attributes: Attributes = {
    'messaging.system': 'rabbitmq',
    'messaging.operation.type': 'process',
    'messaging.destination.name': options.queue,
    'messaging.message.id': options.taskId,
    'clearline.task.name': options.task,
    'clearline.task.retries': options.retries,
  };
  return tracer.startSpan(
    `process ${options.task}`,
    { kind: SpanKind.CONSUMER, attributes },
    parent,
  );
}

function endSpan(span: Span, error: unknown): void {
  if (error !== undefined) {
    span.recordException(error instanceof Error ? error : new Error(JSON.stringify(error)));
    span.setStatus({ code: SpanStatusCode.ERROR });
  }
  span.end();
}

/** Runs `work` with `span` active, and ends the span with its outcome. */
async function inSpan<T>(span: Span, work: () => Promise<T>): Promise<T> {
  try {
    const result = await context.with(trace.setSpan(context.active(), span), work);
    endSpan(span, undefined);
    return result;
  } catch (error) {
    endSpan(span, error);
    throw error;
  }
}

/** Runs a task's work in a consumer span continuing its sender's trace. */
export async function inTaskSpan<T>(options: TaskSpanOptions, work: () => Promise<T>): Promise<T> {
  if (!tracingOn()) return work();
  return inSpan(startTaskSpan(options), work);
}

/**
 * A batch of tasks applied together: one span per task, each in its own sender's trace,
 * all as long as the batch; the work runs in the first one's context.
 */
export async function inBatchSpans<T>(
  batch: readonly TaskSpanOptions[],
  work: () => Promise<T>,
): Promise<T> {
  if (!tracingOn() || batch.length === 0) return work();
  const spans = batch.map((options) => {
    const span = startTaskSpan(options);
    span.setAttribute('clearline.batch.size', batch.length);
    return span;
  });
  const [first] = spans;
  try {
    const result = await context.with(trace.setSpan(context.active(), first as Span), work);
    for (const span of spans) endSpan(span, undefined);
    return result;
  } catch (error) {
    for (const span of spans) endSpan(span, error);
    throw error;
  }
}

/**
 * A task its sender runs in place instead of publishing it (the gateway's in-place
 * authorizations): its span, named as a worker's would be, is a child of the active span
 * (the request's), so what the task sends continues the same trace.
 */
export async function inPlaceTaskSpan<T>(
  options: Pick<TaskSpanOptions, 'task' | 'taskId' | 'queue'>,
  work: () => Promise<T>,
): Promise<T> {
  if (!tracingOn()) return work();
  const span = tracer.startSpan(`process ${options.task}`, {
    kind: SpanKind.INTERNAL,
    attributes: {
      'messaging.destination.name': options.queue,
      'messaging.message.id': options.taskId,
      'clearline.task.name': options.task,
      'clearline.task.in_place': true,
    },
  });
  return inSpan(span, work);
}
