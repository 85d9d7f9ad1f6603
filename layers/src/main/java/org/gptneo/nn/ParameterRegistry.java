package org.gptneo.nn;

import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import org.gptneo.autograd.Var;
import org.gptneo.tensor.Tensor;

/**
 * Every parameter of a model by Hugging Face path, in checkpoint order: what loading, saving, the
 * optimizer and (later) parallel wrappers go through. Made from the layers themselves
 * ({@link Module#parameters()}), so the list of names exists once, in the layer that owns them.
 */
public final class ParameterRegistry {
    private final Map<String, Parameter> byName;

    private ParameterRegistry(Map<String, Parameter> byName) {
        this.byName = Collections.unmodifiableMap(byName);
    }

    /** The parameters of {@code module} (and its parts); names must be unique. */
    public static ParameterRegistry of(Module module) {
        Map<String, Parameter> map = new LinkedHashMap<>();
        for (Parameter p : module.parameters()) {
            if (map.putIfAbsent(p.name(), p) != null) {
                throw new IllegalStateException("two parameters are named '" + p.name() + "'");
            }
        }
        return new ParameterRegistry(map);
    }

    /** The parameter with this name; a clear error when there is none. */
    public Parameter get(String name) {
        Parameter p = byName.get(name);
        if (p == null) {
            throw new IllegalArgumentException("no parameter named '" + name + "'");
        }
        return p;
    }

    public boolean contains(String name) {
        return byName.containsKey(name);
    }

    public Set<String> names() {
        return byName.keySet();
    }

    public Collection<Parameter> all() {
        return byName.values();
    }

    public int size() {
        return byName.size();
    }

    /** The parameters that train, in order. */
    public ParameterRegistry trainable() {
        return filter(Parameter::isTrainable);
    }

    /** The parameters whose names match, in order. */
    public ParameterRegistry matching(Predicate<String> names) {
        return filter(p -> names.test(p.name()));
    }

    /** Freezes every parameter whose name matches (and leaves the others as they are); returns this. */
    public ParameterRegistry freeze(Predicate<String> names) {
        byName.values().forEach(p -> {
            if (names.test(p.name())) p.setTrainable(false);
        });
        return this;
    }

    /** Makes every parameter whose name matches trainable again; returns this. */
    public ParameterRegistry unfreeze(Predicate<String> names) {
        byName.values().forEach(p -> {
            if (names.test(p.name())) p.setTrainable(true);
        });
        return this;
    }

    /** Name → value and gradient, in checkpoint order (what optimizers and savers take). */
    public Map<String, Var> asVars() {
        Map<String, Var> vars = new LinkedHashMap<>();
        byName.forEach((name, p) -> vars.put(name, p.var()));
        return Collections.unmodifiableMap(vars);
    }

    /** Elements in all these parameters. */
    public long elementCount() {
        return byName.values().stream().mapToLong(p -> Tensor.elementCount(p.shape())).sum();
    }

    private ParameterRegistry filter(Predicate<Parameter> keep) {
        Map<String, Parameter> map = new LinkedHashMap<>();
        byName.forEach((name, p) -> {
            if (keep.test(p)) map.put(name, p);
        });
        return new ParameterRegistry(map);
    }
}
