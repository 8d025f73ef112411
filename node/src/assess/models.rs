//! The models this node can compute, by id: the shipped specs (`weinong_mpc::model`),
//! compiled once at start. A request citing a registered model this build does not ship
//! fails with a reason instead of running something else.

use std::collections::BTreeMap;
use std::sync::Arc;

use weinong_mpc::model::{Model, SHIPPED, SpecError, compile};

/// Compiled models by id (SM3 of the canonical spec; the same id the ledger registers).
#[derive(Clone)]
pub struct Models {
    by_id: BTreeMap<[u8; 32], Arc<Model>>,
}

impl Models {
    /// The models shipped with this build.
    pub fn shipped() -> Result<Models, SpecError> {
        let mut by_id = BTreeMap::new();
        for spec in SHIPPED {
            let model = compile(spec)?;
            by_id.insert(model.id().0, Arc::new(model));
        }
        Ok(Models { by_id })
    }

    /// The model with this id.
    pub fn get(&self, id: &[u8; 32]) -> Option<Arc<Model>> {
        self.by_id.get(id).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_models_are_found_by_id() {
        let models = Models::shipped().unwrap();
        for (spec, name) in SHIPPED
            .into_iter()
            .zip(["admission-v1", "periodic-v1", "periodic-v2"])
        {
            let model = compile(spec).unwrap();
            assert_eq!(models.get(&model.id().0).unwrap().name(), name);
        }
        assert!(models.get(&[0; 32]).is_none());
    }
}
