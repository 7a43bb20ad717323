"""autograder: build, check and grade the course notebooks with nbgrader."""
