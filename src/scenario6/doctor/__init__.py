"""``scenario6 doctor``: is this machine ready to run or publish the app, and if not, why.

Each check is a small function ``check_*(Context) -> CheckResult``; ``run_checks`` picks the
ones that matter for a mode and backend and marks which are required.
"""

from .result import CheckResult, Context, Status
from .runner import DoctorReport, run_checks

__all__ = ["CheckResult", "Context", "DoctorReport", "Status", "run_checks"]
