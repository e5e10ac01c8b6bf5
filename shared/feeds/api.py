"""HTTP routes of the feeds surface: reading a feed page by page, following streamers."""
from __future__ import annotations

from shared.core.http import Call
from shared.core.options import FunctionOptions
from shared.core.registry import REGISTRY
from shared.feeds import service
from shared.feeds.models import FeedPage, FeedQuery, FollowState

SURFACE = REGISTRY.surface("feeds", FunctionOptions(memory="512Mi", cpu="1", concurrency=8, max_instances=50,
                                                    secrets=("JWT_SECRET",)))
route = REGISTRY.route
# any kind reaches the handler, which answers 400 for one that is not a feed
KIND = {"kind": r"livestream|posts|[A-Za-z0-9_.-]{1,40}"}


@route("GET", "/feeds/{kind}", surface=SURFACE, query=FeedQuery, response=FeedPage, params=KIND,
       summary="A feed (livestream: live sessions; posts: published posts) by metadata.s_score, highest first; "
               "pass next_cursor as cursor for more: pages keep to the generation you started on "
               "(400 cursor_expired once it is deleted); followed=true puts the streamers you follow first")
def read_feed(call: Call) -> FeedPage:
    return service.page(call.params["kind"], call.caller.user_id, call.query.cursor, call.query.limit,
                        call.query.followed)


@route("POST", "/users/{user_id}/follow", surface=SURFACE, response=FollowState,
       summary="Follow a streamer: their items come first in your feeds with followed=true (idempotent; "
               "following yourself is 400)")
def follow(call: Call) -> FollowState:
    return service.follow(call.caller.user_id, call.params["user_id"])


@route("DELETE", "/users/{user_id}/follow", surface=SURFACE, response=FollowState,
       summary="Stop following a streamer (idempotent)")
def unfollow(call: Call) -> FollowState:
    return service.unfollow(call.caller.user_id, call.params["user_id"])
