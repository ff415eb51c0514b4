"""Load tests: the Locust users of `dispatch bench` and the tracker fleet (run by path, as Locust and a process)."""
