"""Grades: the gradebook writer, per-student records (resume, shards, merge), the
autograded notebooks and the feedback pages."""
