"""The supervisors' web console: figures, rankings, ticket lists and details, exports."""
