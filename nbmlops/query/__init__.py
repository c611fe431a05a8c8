"""The condition language: one lexer and AST, compiled to SQL (`where`, `order_by`) and evaluated in Python (gates)."""
