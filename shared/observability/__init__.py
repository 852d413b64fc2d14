"""What an operator watches: the correlation id of the work in hand, JSON logs that carry it, and
the Prometheus metrics of each service."""
