"""Paying for minutes of a streamer's paid stream (seeds 003, 004: `/streams/{streamer_id}/pay`,
`authorize_livestream`): the viewer's diamonds go to the streamer's earnings less the platform's
share, and the viewer's window in `session.viewers` grows by what they paid for."""
from __future__ import annotations

from shared.core import clock, ids, steps
from shared.core.config import settings
from shared.core.errors import Conflict
from shared.core.firestore import Txn
from shared.core.pusher import viewer_preview_channel
from shared.ledger import book
from shared.ledger.models import REVENUE, earnings, wallet
from shared.ledger.spending import spent
from shared.livestream import sessions
from shared.livestream.models import Payment, PayRequest, StreamAuthorized


def pay(viewer_id: str, streamer_id: str, request: PayRequest, client_key: steps.ClientKey | None = None) -> Payment:
    if viewer_id == streamer_id:
        raise Conflict("streamers do not pay for their own stream", code="own_session")
    sessions.active_session_id(streamer_id)  # a clear 404 before queueing for anything
    payment_id = ids.new_id()

    def body(txn: Txn, fx: steps.Effects) -> Payment:
        session = sessions.load(sessions.active_session_id(streamer_id, txn), txn)
        sessions.require_active(session)
        amount = session.get_price(request.preset, request.duration)
        fee = amount * settings().platform_share_percent // 100
        meta = {"session_id": session.id, "streamer_id": streamer_id, "preset": request.preset,
                "duration": request.duration, "reason": "stream_minutes"}
        moves = [book.Move(f"pay:{payment_id}", wallet(viewer_id), earnings(streamer_id), amount - fee, metadata=meta)]
        if fee:
            moves.append(book.Move(f"pay:{payment_id}:fee", wallet(viewer_id), REVENUE, fee, metadata=meta))
        book.execute(txn, moves)  # reads first; refuses insufficient funds before anything is written
        spent(fx, f"pay:{payment_id}", viewer_id, streamer_id, session.id, amount, "stream_minutes", clock.now())
        window = sessions.extend_viewer(txn, session, viewer_id, clock.now(), request.duration)
        fx.notify([viewer_preview_channel(streamer_id, viewer_id)], "stream.authorized", StreamAuthorized(
            session_id=session.id, streamer_id=streamer_id, viewer_id=viewer_id, nbf=window.nbf, exp=window.exp,
            duration=window.duration, exclusive=viewer_id in session.status.exclusive_to))
        return Payment(session_id=session.id, streamer_id=streamer_id, preset=request.preset, duration=request.duration,
                       amount=amount, transfer_id=f"pay:{payment_id}", window=window)

    return steps.run(f"pay:{payment_id}", body, redelivered=False, client_key=client_key)
