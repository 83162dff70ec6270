"""calls' models, one module per topic; Django and the rest of the project import them from here.

The modules refer to each other's models by name ("calls.Call"), so none imports another."""
from calls.models.call import Call, CallerLookup, CallEvent, CallResult, Line, RouteReason
from calls.models.callbacks import Callback
from calls.models.clicktocall import CallAttempt
from calls.models.dashboard import CallDayStat, CallHourStat, CallStatDay, forget_stat_days
from calls.models.journal import PbxRequest, WebhookThrottle
from calls.models.recordings import Recording, RecordingListen

__all__ = [
    "Call",
    "CallAttempt",
    "CallDayStat",
    "CallEvent",
    "CallHourStat",
    "CallResult",
    "CallStatDay",
    "Callback",
    "CallerLookup",
    "Line",
    "PbxRequest",
    "Recording",
    "RecordingListen",
    "RouteReason",
    "WebhookThrottle",
    "forget_stat_days",
]
