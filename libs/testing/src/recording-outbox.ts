import type { CommittedOutbox } from '@clearline/tasks';

/**
 * A `CommittedOutbox` for a repository under test that publishes nothing and records
 * the ids of the tasks it was asked to send after a commit (`sent`), so a test can tell
 * what the repository would have published.
 */
export function recordingCommittedOutbox(): { committed: CommittedOutbox; sent: string[] } {
  const sent: string[] = [];
  const recorder: Pick<CommittedOutbox, 'sendCommitted'> = {
    sendCommitted: (outbox, written) => {
      // As the real one: rows the relay sends would go out twice.
      if (outbox.sentBy !== 'writer')
        throw new Error('outbox: sentBy relay rows sent by their writer');
      sent.push(...(written ? outbox.taskIdsOf(written) : outbox.taskIds));
    },
  };
  return { committed: recorder as unknown as CommittedOutbox, sent };
}
