"""The preview titles of the course enrolments panel's bulk actions: what they do, in plain words
(the end date as a day, not Unix seconds)."""

from __future__ import annotations

import time

from lms_console.models.enrolments_model import bulk_title


def test_bulk_titles_say_what_they_do_and_when_enrolments_end():
    end = int(time.mktime((2026, 12, 31, 23, 59, 59, 0, 0, -1)))
    assert bulk_title("end", 3, "ME101", timeend=end) == "End the enrolments of 3 users in ME101 on 2026-12-31"
    assert bulk_title("end", 1, "ME101", timeend=end) == "End the enrolment of 1 user in ME101 on 2026-12-31"
    assert bulk_title("end", 1200, "ME101", timeend=end).startswith("End the enrolments of 1,200 users")
    assert bulk_title("suspend", 2, "ME101") == "Suspend 2 enrolments in ME101"
    assert bulk_title("reactivate", 1, "ME101") == "Reactivate 1 enrolment in ME101"
    assert bulk_title("unenrol", 4, "ME101") == "Remove 4 enrolments in ME101"
