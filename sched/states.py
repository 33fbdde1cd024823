"""BOINC's numeric states, in one place.

The numbers are part of the on-disk contract: BOINC's C++ daemons, its PHP
pages and existing databases all use them, so they must never change.
Names are BOINC's own (``db/boinc_db_types.h``, ``lib/common_defs.h``,
``lib/error_numbers.h``).
"""

# The largest C int: "nothing pending" for workunit.transition_time.
INT_MAX = 2147483647

# result.server_state (3 was never used)
RESULT_SERVER_STATE_INACTIVE = 1        # size-class job, not yet released
RESULT_SERVER_STATE_UNSENT = 2
RESULT_SERVER_STATE_IN_PROGRESS = 4
RESULT_SERVER_STATE_OVER = 5

# result.outcome (meaningful once server_state is OVER)
RESULT_OUTCOME_INIT = 0
RESULT_OUTCOME_SUCCESS = 1
RESULT_OUTCOME_COULDNT_SEND = 2
RESULT_OUTCOME_CLIENT_ERROR = 3
RESULT_OUTCOME_NO_REPLY = 4
RESULT_OUTCOME_DIDNT_NEED = 5
RESULT_OUTCOME_VALIDATE_ERROR = 6
RESULT_OUTCOME_CLIENT_DETACHED = 7

# result.client_state: the client's RESULT_* state when it reported
RESULT_NEW = 0
RESULT_FILES_DOWNLOADING = 1
RESULT_FILES_DOWNLOADED = 2
RESULT_COMPUTE_ERROR = 3
RESULT_FILES_UPLOADING = 4
RESULT_FILES_UPLOADED = 5
RESULT_ABORTED = 6
RESULT_UPLOAD_FAILED = 7

# result.validate_state
VALIDATE_STATE_INIT = 0
VALIDATE_STATE_VALID = 1
VALIDATE_STATE_INVALID = 2
VALIDATE_STATE_NO_CHECK = 3             # WU errored before it could be checked
VALIDATE_STATE_INCONCLUSIVE = 4
VALIDATE_STATE_TOO_LATE = 5             # arrived after the canonical's files went

# workunit.error_mask bits
WU_ERROR_COULDNT_SEND_RESULT = 1
WU_ERROR_TOO_MANY_ERROR_RESULTS = 2
WU_ERROR_TOO_MANY_SUCCESS_RESULTS = 4
WU_ERROR_TOO_MANY_TOTAL_RESULTS = 8
WU_ERROR_CANCELLED = 16
WU_ERROR_NO_CANONICAL_RESULT = 32

# workunit.file_delete_state and result.file_delete_state
FILE_DELETE_INIT = 0
FILE_DELETE_READY = 1
FILE_DELETE_DONE = 2
FILE_DELETE_ERROR = 3

# workunit.assimilate_state
ASSIMILATE_INIT = 0
ASSIMILATE_READY = 1
ASSIMILATE_DONE = 2

# workunit.transitioner_flags
TRANSITION_NONE = 1                     # broadcast jobs: never transitioned
TRANSITION_NO_NEW_RESULTS = 2           # targeted jobs: no results made here

# batch.state
BATCH_STATE_INIT = 0
BATCH_STATE_IN_PROGRESS = 1
BATCH_STATE_COMPLETE = 2
BATCH_STATE_ABORTED = 3
BATCH_STATE_RETIRED = 4

# assignment.target_type
ASSIGN_NONE = 0
ASSIGN_HOST = 1
ASSIGN_USER = 2
ASSIGN_TEAM = 3

# result.app_version_id of anonymous-platform jobs (negative codes)
ANON_PLATFORM_UNKNOWN = -1
ANON_PLATFORM_CPU = -2
ANON_PLATFORM_NVIDIA = -3
ANON_PLATFORM_ATI = -4
ANON_PLATFORM_INTEL_GPU = -5
ANON_PLATFORM_APPLE_GPU = -6

# app.locality_scheduling
LOCALITY_SCHED_NONE = 0
LOCALITY_SCHED_LITE = 1

# result.exit_status values the client sets itself
EXIT_STATEFILE_WRITE = 192
EXIT_SIGNAL = 193
EXIT_ABORTED_BY_CLIENT = 194
EXIT_CHILD_FAILED = 195
EXIT_DISK_LIMIT_EXCEEDED = 196
EXIT_TIME_LIMIT_EXCEEDED = 197
EXIT_MEM_LIMIT_EXCEEDED = 198
EXIT_CLIENT_EXITING = 199
EXIT_UNSTARTED_LATE = 200
EXIT_MISSING_COPROC = 201
EXIT_ABORTED_BY_PROJECT = 202
EXIT_ABORTED_VIA_GUI = 203
EXIT_UNKNOWN = 204
EXIT_OUT_OF_MEMORY = 205
EXIT_INIT_FAILURE = 206
EXIT_NO_SUB_TASKS = 207
EXIT_SUB_TASK_FAILURE = 208
EXIT_OVERDUE_EXCEEDED = 209


def generalized_app_version_id(app_version_id, appid):
    """host_app_version.app_version_id for a result's app version.

    A real app version id stays as it is; an anonymous-platform code
    (-2 ... -6) becomes ``appid*1000000 + k`` with k the code's absolute value.
    """
    if app_version_id < 0:
        return appid * 1000000 - app_version_id
    return app_version_id


# number -> short name, for log lines and tools (e.g. SERVER_STATE[5] == "OVER"):
# made on first use (a CGI request needs none of them).
_NAME_MAPS = {"SERVER_STATE": "RESULT_SERVER_STATE_", "OUTCOME": "RESULT_OUTCOME_",
              "VALIDATE_STATE": "VALIDATE_STATE_", "FILE_DELETE_STATE": "FILE_DELETE_",
              "ASSIMILATE_STATE": "ASSIMILATE_", "BATCH_STATE": "BATCH_STATE_"}


def __getattr__(name):
    prefix = _NAME_MAPS.get(name)
    if prefix is None:
        raise AttributeError("module %r has no attribute %r" % (__name__, name))
    names = globals()[name] = {v: k[len(prefix):] for k, v in list(globals().items())
                               if k.startswith(prefix) and isinstance(v, int)}
    return names
