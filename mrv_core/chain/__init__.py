"""mrv_core.chain: the chain client and the contract bindings.

One interface over two backends (the embedded eth-tester chain and any JSON-RPC node),
transactions with durable nonces, confirmations and decoded custom errors, the deployment file,
bindings to the deployed contracts, the chain steps of bundle verification, and a development
chain's clock driven by simulated time (:class:`ChainClock`).
"""

from .artifacts import Artifacts, load_artifacts
from .backend import EMBEDDED, Chain, ChainSettings, connect
from .clock import ChainClock, SimulatedTimeRefused
from .deployment import CONTRACTS, DEPLOYMENT_FORMAT, Deployment, check_artifacts, deploy_system
from .system import ROLES, System
from .transactions import KeySigner, NodeSigner, NonceTracker, Sent, Transactor
from .verify import CHAIN_STEPS, verify_on_chain

__all__ = [
    "CHAIN_STEPS",
    "CONTRACTS",
    "DEPLOYMENT_FORMAT",
    "EMBEDDED",
    "ROLES",
    "Artifacts",
    "Chain",
    "ChainClock",
    "ChainSettings",
    "Deployment",
    "KeySigner",
    "NodeSigner",
    "NonceTracker",
    "Sent",
    "SimulatedTimeRefused",
    "System",
    "Transactor",
    "check_artifacts",
    "connect",
    "deploy_system",
    "load_artifacts",
    "verify_on_chain",
]
