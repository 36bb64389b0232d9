/**
 * Per-actor serialisation: jobs run one at a time in arrival order. A singly linked list
 * keeps enqueue and dequeue O(1) (no `Array.shift` on a hot path, as XState's Mailbox).
 */
interface MailboxNode {
  run: () => Promise<void>;
  next: MailboxNode | null;
}

export class Mailbox {
  private head: MailboxNode | null = null;
  private tail: MailboxNode | null = null;
  private draining = false;

  /** Runs `job` after every job enqueued before it has settled; resolves with its result. */
  enqueue<T>(job: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const node: MailboxNode = {
        run: () => job().then(resolve, reject),
        next: null,
      };
      if (this.tail) this.tail.next = node;
      else this.head = node;
      this.tail = node;
      if (!this.draining) void this.drain();
    });
  }

  get idle(): boolean {
    return !this.draining && this.head === null;
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.head) {
        const node = this.head;
        this.head = node.next;
        if (!this.head) this.tail = null;
        await node.run();
      }
    } finally {
      this.draining = false;
    }
  }
}
