"""Where the grading pipeline meets the world around it: batch grading (a thread pool or a Dask
cluster), the lanes that keep a fork server and a retrain worker warm, the grading daemon,
nbgrader's autograde step and the Gradescope autograder. Each grades through
``grader.pipeline`` and formats through ``grader.reporters``; none defines a check."""
