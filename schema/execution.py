"""A graphql-core executor with short paths for plain leaf fields and plain objects.

Most fields of a catalog answer are plain attributes holding a scalar or enum (a listing page
completes ~480 of them). For each one graphql-core builds a path and a resolve-info object and
walks `complete_value`, which was most of the API's CPU per request. Here a field whose
Strawberry resolver is the basic attribute read (no resolver: Strawberry marks it `_is_default`)
and that has no permission class or field extension, with no arguments and a scalar or enum type, is read and
serialised directly. Anything unusual on that path (an error, null for a non-null field, an
awaitable, a value the type refuses) goes through graphql-core's own `execute_field`, so errors,
their paths and null propagation stay graphql-core's. Schema extensions with a `resolve` hook
make graphql-core wrap every resolver: then every field takes graphql-core's path.

An object value (a list item, a relation) of a type without `is_type_of` goes straight to its
sub-fields, skipping four levels of graphql-core's dispatch that only matter for errors,
abstract types, `@defer` and `@stream`, which keep graphql-core's path.

`execute_fields` is graphql-core 3.3's own loop with the short path added (pyproject.toml keeps
graphql-core below 3.4).
"""

from typing import Any

from graphql import GraphQLNonNull, GraphQLObjectType, Undefined, is_leaf_type
from graphql.pyutils import Path, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter

_SLOW = object()  # "use graphql-core's execute_field"


class FastLeafExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        middleware = self.middleware_manager
        # Sub-executors are shallow copies: they share these plans.
        self._plans: dict[int, tuple] | None = None if middleware and middleware.middlewares else {}
        self._object_types: dict[int, tuple] = {}

    def _plan(self, plans: dict[int, tuple], parent_type: GraphQLObjectType, grouped_field_set: dict) -> tuple:
        """Per field of a selection set: how to read it, or None for graphql-core's path.

        graphql-core memoises collected sub-fields, so every item of a list shares one
        grouped field set and its plan is made once per request."""
        fields = []
        for response_name, field_details_list in grouped_field_set.items():
            node = field_details_list[0].node
            field_def = self.schema.get_field(parent_type, node.name.value)
            read = None
            if (field_def is not None and getattr(field_def.resolve, "_is_default", False)
                    and not field_def.args and not node.arguments):
                field_type = field_def.type
                non_null = isinstance(field_type, GraphQLNonNull)
                leaf_type = field_type.of_type if isinstance(field_type, GraphQLNonNull) else field_type
                field = field_def.extensions[GraphQLCoreConverter.DEFINITION_BACKREF]
                # `_is_default` only says "no resolver": permission classes are field extensions
                if is_leaf_type(leaf_type) and not field.extensions:
                    read = (field.default_resolver, field.python_name, leaf_type.coerce_output_value, non_null)
            fields.append((response_name, field_details_list, read))
        plan = (parent_type, grouped_field_set, fields)  # keeps the set alive: its id stays unique
        plans[id(grouped_field_set)] = plan
        return plan

    def _plain_object_type(self, return_type) -> GraphQLObjectType | None:
        """The object type of a (non-null) object field whose values need no `is_type_of` check."""
        known = self._object_types.get(id(return_type))
        if known is None:
            inner = return_type.of_type if isinstance(return_type, GraphQLNonNull) else return_type
            plain = inner if isinstance(inner, GraphQLObjectType) and inner.is_type_of is None else None
            known = self._object_types[id(return_type)] = (return_type, plain)  # keeps the id unique
        return known[1]

    def complete_value(self, return_type, field_details_list, info, path, result, position_context):
        if (self._plans is not None and position_context is None and result is not None
                and result is not Undefined and not isinstance(result, Exception)):
            object_type = self._plain_object_type(return_type)
            if object_type is not None:
                grouped_field_set, new_defer_usages, _ = self.collect_subfields(object_type, field_details_list)
                if not new_defer_usages:
                    return self.execute_fields(object_type, result, path, grouped_field_set, None)
        return super().complete_value(return_type, field_details_list, info, path, result, position_context)

    def execute_fields(self, parent_type, source_value, path, grouped_field_set, position_context):
        plans = self._plans
        if plans is None:
            return super().execute_fields(parent_type, source_value, path, grouped_field_set, position_context)
        plan = plans.get(id(grouped_field_set))
        if plan is None or plan[0] is not parent_type:
            plan = self._plan(plans, parent_type, grouped_field_set)
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        try:
            for response_name, field_details_list, read in plan[2]:
                if read is not None:
                    value = _read_leaf(source_value, *read, is_awaitable)
                    if value is not _SLOW:
                        results[response_name] = value
                        continue
                result = self.execute_field(parent_type, source_value, field_details_list,
                                            Path(path, response_name, parent_type.name), position_context)
                if result is not Undefined:
                    results[response_name] = result
                    if is_awaitable(result):
                        awaitable_fields.append(response_name)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[name] for name in awaitable_fields])
            raise
        if not awaitable_fields:
            return results

        async def get_results() -> dict[str, Any]:
            if len(awaitable_fields) == 1:
                name = awaitable_fields[0]
                results[name] = await results[name]
            else:
                values = await gather_with_cancel(*(results[name] for name in awaitable_fields))
                results.update(zip(awaitable_fields, values, strict=True))
            return results

        return get_results()


def _read_leaf(source, resolver, name: str, coerce, non_null: bool, is_awaitable) -> Any:
    """The serialised value, None for a null of a nullable field, or _SLOW."""
    try:
        value = resolver(source, name)
        if value is None or value is Undefined:
            return _SLOW if non_null else None
        if isinstance(value, Exception) or is_awaitable(value):
            return _SLOW
        coerced = coerce(value)
    except Exception:
        return _SLOW
    return _SLOW if coerced is None or coerced is Undefined else coerced
