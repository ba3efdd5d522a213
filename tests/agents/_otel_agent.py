"""A command agent instrumented with the OpenTelemetry SDK (GenAI conventions), exporting over
OTLP/HTTP to wherever OTEL_EXPORTER_OTLP_ENDPOINT points: no costar code in it."""

import json
import sys

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

provider = TracerProvider()
provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
tracer = provider.get_tracer("shop-agent")

request = json.load(sys.stdin)
with tracer.start_as_current_span(
    "invoke_agent shop", attributes={"gen_ai.operation.name": "invoke_agent"}
):
    with tracer.start_as_current_span(
        "chat fake",
        attributes={
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "fake",
            "gen_ai.usage.input_tokens": 40,
            "gen_ai.usage.output_tokens": 8,
        },
    ):
        pass
    with tracer.start_as_current_span(
        "execute_tool lookup_order",
        attributes={
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": "lookup_order",
            "gen_ai.tool.call.arguments": json.dumps({"order_id": 1042}),
            "gen_ai.tool.call.result": "order 1042: shipped",
        },
    ):
        pass
    with tracer.start_as_current_span(
        "execute_tool refund",
        attributes={"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "refund"},
    ) as failing:
        failing.record_exception(PermissionError("refunds are closed"))
        failing.set_status(trace.Status(trace.StatusCode.ERROR, "refunds are closed"))
provider.shutdown()  # flushes the export before the reply
print(json.dumps({"output": f"Order 1042 has shipped ({request['input']})."}))
