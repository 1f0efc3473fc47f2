"""The contracts every layer shares: client input, profile, plan and one vocabulary.

Each module is imported by its own path (`core.schemas.client`, `core.schemas.plan`, ...); this
package re-exports nothing, so a name has one home.
"""
