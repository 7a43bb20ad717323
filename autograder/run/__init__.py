"""Running submissions: the sandbox, the fork server of warm workers, and the trusted
harness that executes one submission's definitions and the instructor's tests.

Layers: ``harness`` (inside the sandbox) <- ``zygote`` (fork server) <- ``engine``
(grader side: jobs, timeouts, crashes, parallelism) ; ``sandbox`` (namespaces, uid,
limits) ; ``scan`` (static review of student code) ; ``cells`` (matching a submission's
cells to the instructor's by grade_id).
"""
