/** What happened to a merchant's object: the API object as it was then (`data.object`). */
export interface Event {
  id: string;
  merchantId: string;
  type: string;
  data: { object: unknown };
  createdAt: Date;
}

/** One attempt to deliver an event to its merchant's webhook URL. */
export interface WebhookAttempt {
  eventId: string;
  /** 1 for the first attempt. */
  attempt: number;
  url: string;
  /** The endpoint's HTTP status; null when none came back. */
  statusCode: number | null;
  /** Why no status came back (timeout, refused). */
  error: string | null;
  succeeded: boolean;
  durationMs: number;
  attemptedAt: Date;
}

/** An event with its webhook deliveries so far, oldest first (what the API shows). */
export interface DeliveredEvent extends Event {
  deliveryAttempts: WebhookAttempt[];
}
