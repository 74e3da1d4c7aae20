"""WhatsApp (Cloud API), the second channel: the signed webhook, the conversation host on
the core, messages within WhatsApp's limits, the client, and reminders as templates."""
