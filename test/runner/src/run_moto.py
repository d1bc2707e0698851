"""Runs moto's server on 127.0.0.1 for fanfold's cloud-tier tests.

Binds a free port chosen by the OS, prints one line `MOTO_READY <port>` on stdout, then serves
until its stdin closes. The Node harness holds the other end of stdin, so the server exits when
the test process ends, even if that process is killed and never calls stop().

Two fidelity fixes are applied first, each where moto departs from AWS's documented behaviour
(why, and the evidence):

1. DynamoDB requests run one at a time. moto's TransactWriteItems snapshots the whole table,
   applies the actions one by one and, when a condition fails, puts the snapshot back. On moto's
   threaded server, concurrent requests then interleave with that: a cancelled transaction's
   update can stay applied, and a rollback can erase writes made meanwhile by other requests.
   DynamoDB's transactions are serializable, which one lock restores here.
2. SQS receipt handles of an earlier delivery are stale. The DeleteMessage reference says one must
   use the most recent receipt handle, "otherwise, the request succeeds, but the message will not
   be deleted"; a stale handle given to ChangeMessageVisibility is refused with
   InvalidParameterValue ("... for parameter ReceiptHandle is invalid. Reason: Message does not
   exist or is not available for visibility timeout change."). moto (since PR #4655) lets any
   earlier handle delete or re-hide the current delivery. ChangeMessageVisibilityBatch reports
   such a handle as one failed entry (its `Failed` list), as SQS's batch actions report each
   entry's error, instead of failing the whole request as moto would with the refusal above.
3. A message is handed to one receiver at a time. moto's ReceiveMessage checks that a message is
   visible, then marks it received, with nothing between the two on its threaded server: two
   concurrent receives can both take the same message, although each hides it for its visibility
   timeout (the WorkQueue contract's twelve concurrent receivers got a message twice in 1 of ~10
   CI runs). Each pass over the queue now runs under one lock; a long poll waits between passes
   without it, as moto's own loop waits, so receivers still wait side by side.
"""

import functools
import logging
import sys
import threading
import time
from typing import Any

from moto.dynamodb.responses import DynamoHandler
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.sqs.exceptions import InvalidParameterValue
from moto.sqs.models import Queue, SQSBackend


def serialise_dynamodb() -> None:
    lock = threading.Lock()
    call_action = DynamoHandler.call_action

    @functools.wraps(call_action)
    def locked(self):  # type: ignore[no-untyped-def]
        with lock:
            return call_action(self)

    DynamoHandler.call_action = locked  # type: ignore[method-assign]


def is_stale(queue: Queue, receipt_handle: str) -> bool:
    """True when the handle belongs to an earlier delivery of a message still in the queue."""
    return any(
        m.receipt_handle != receipt_handle and m.had_receipt_handle(receipt_handle)
        for m in queue._messages
    )


def stale_receipts_are_stale() -> None:
    delete_message = Queue.delete_message

    def delete_current(self: Queue, receipt_handle: str) -> None:
        if is_stale(self, receipt_handle):
            return  # succeeds, deletes nothing
        delete_message(self, receipt_handle)

    Queue.delete_message = delete_current  # type: ignore[method-assign]

    change_visibility = SQSBackend.change_message_visibility

    def change_current(self: SQSBackend, queue_name: str, receipt_handle: str, visibility_timeout: int) -> None:
        if is_stale(self.get_queue(queue_name), receipt_handle):
            raise InvalidParameterValue(
                f"Value {receipt_handle} for parameter ReceiptHandle is invalid. Reason: Message does "
                "not exist or is not available for visibility timeout change."
            )
        change_visibility(self, queue_name, receipt_handle, visibility_timeout)

    SQSBackend.change_message_visibility = change_current  # type: ignore[method-assign]

    change_batch = SQSBackend.change_message_visibility_batch

    def change_batch_entries(
        self: SQSBackend, queue_name: str, entries: list[dict[str, Any]]
    ) -> tuple[list[str], list[dict[str, Any]]]:
        success: list[str] = []
        failed: list[dict[str, Any]] = []
        for entry in entries:
            try:
                ok, bad = change_batch(self, queue_name, [entry])
            except InvalidParameterValue as e:
                ok, bad = [], [{"Id": entry["Id"], "SenderFault": True, "Code": e.code, "Message": e.message}]
            success.extend(ok)
            failed.extend(bad)
        return success, failed

    SQSBackend.change_message_visibility_batch = change_batch_entries  # type: ignore[method-assign]


def one_receiver_at_a_time() -> None:
    lock = threading.Lock()
    receive_message = SQSBackend.receive_message

    @functools.wraps(receive_message)
    def receive_claimed(
        self: SQSBackend,
        queue_name: str,
        count: int,
        wait_seconds_timeout: int,
        visibility_timeout: int,
        message_attribute_names: list[str] | None = None,
    ) -> list[Any]:
        end = time.monotonic() + wait_seconds_timeout
        while True:
            # One pass (no wait inside): check and mark each message under the lock.
            with lock:
                got = receive_message(self, queue_name, count, 0, visibility_timeout, message_attribute_names)
            left = end - time.monotonic()
            if got or left <= 0:
                return got
            # moto's own wait: until a message is visible (or a second passes), then pass again.
            self.get_queue(queue_name).wait_for_messages(min(1.0, left))
            time.sleep(0.005)

    SQSBackend.receive_message = receive_claimed  # type: ignore[method-assign]


def main() -> None:
    serialise_dynamodb()
    stale_receipts_are_stale()
    one_receiver_at_a_time()
    # Werkzeug logs every request; the tests do not need that on stderr.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    _, port = server.get_host_and_port()
    print(f"MOTO_READY {port}", flush=True)
    # Block until the parent closes our stdin (or dies); then stop.
    done = threading.Event()

    def watch_stdin() -> None:
        try:
            while sys.stdin.buffer.read(4096):
                pass
        finally:
            done.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    done.wait()
    server.stop()


if __name__ == "__main__":
    main()
