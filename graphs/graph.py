"""The advisory workflow (DESIGN §3): four agents, a bounded revise loop and advisor sign-off."""

from __future__ import annotations

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from graphs import nodes
from graphs.state import AdvisoryState, Deps

AdvisoryGraph = CompiledStateGraph[AdvisoryState, Deps, AdvisoryState, AdvisoryState]


def build_graph(checkpointer: BaseCheckpointSaver[str]) -> AdvisoryGraph:
    """Compile the graph with node names exactly as the design names them."""
    builder = StateGraph(AdvisoryState, context_schema=Deps)
    builder.add_node("profile_client", nodes.profile_client_node)
    builder.add_node("research_products", nodes.research_products_node)
    builder.add_node("allocate_portfolio", nodes.allocate_portfolio_node)
    builder.add_node("check_compliance", nodes.check_compliance_node)
    builder.add_node("advisor_review", nodes.advisor_review_node)
    builder.add_node("deliver_plan", nodes.deliver_plan_node)
    builder.add_node("block_plan", nodes.block_plan_node)
    builder.add_node("close_rejected", nodes.close_rejected_node)
    builder.add_edge(START, "profile_client")
    builder.add_edge("profile_client", "research_products")
    builder.add_edge("research_products", "allocate_portfolio")
    builder.add_edge("allocate_portfolio", "check_compliance")
    builder.add_conditional_edges("check_compliance", nodes.route_after_compliance)
    builder.add_edge("deliver_plan", END)
    builder.add_edge("block_plan", END)
    builder.add_edge("close_rejected", END)
    return builder.compile(checkpointer=checkpointer)
