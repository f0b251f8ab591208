//! Networks and volumes of a project. Both are found again through their
//! labels, so `down` can clean up without any local state.

use crate::compose::model::{Network, Volume};
use crate::engine::{is_not_found, labels, Engine, EngineError};
use bollard::models::{Ipam, IpamConfig, NetworkCreateRequest, VolumeCreateRequest};
use bollard::query_parameters::{
    ListNetworksOptionsBuilder, ListVolumesOptionsBuilder, RemoveVolumeOptionsBuilder,
};
use std::collections::HashMap;

/// A network that carries a project's label.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectNetwork {
    pub id: String,
    pub name: String,
    /// The key in the compose file (`com.docker.compose.network`).
    pub key: Option<String>,
    pub labels: HashMap<String, String>,
}

/// A volume that carries a project's label.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectVolume {
    pub name: String,
    /// The key in the compose file (`com.docker.compose.volume`).
    pub key: Option<String>,
    pub labels: HashMap<String, String>,
}

/// The labels every project network/volume gets, on top of its declared ones.
fn object_labels(
    declared: &indexmap::IndexMap<String, String>,
    project: &str,
    key_label: &str,
    key: &str,
) -> HashMap<String, String> {
    let mut out: HashMap<String, String> = declared.clone().into_iter().collect();
    out.insert(labels::PROJECT.into(), project.into());
    out.insert(key_label.into(), key.into());
    out.insert(labels::MANAGED_BY.into(), labels::MANAGED_BY_VALUE.into());
    out
}

fn project_filter(project: &str) -> HashMap<String, Vec<String>> {
    HashMap::from([(
        "label".to_string(),
        vec![format!("{}={project}", labels::PROJECT)],
    )])
}

impl Engine {
    /// The id of the network named exactly `name`, if any. The engine's `name`
    /// filter matches substrings, so results are checked for equality; two
    /// networks with the same name (possible on 20.10) are an error, because
    /// every later call by name would be ambiguous.
    pub async fn find_network(&self, name: &str) -> Result<Option<String>, EngineError> {
        let filters = HashMap::from([("name".to_string(), vec![name.to_string()])]);
        let options = ListNetworksOptionsBuilder::new().filters(&filters).build();
        let found = self.docker.list_networks(Some(options)).await?;
        let ids: Vec<String> = found
            .into_iter()
            .filter(|network| network.name.as_deref() == Some(name))
            .filter_map(|network| network.id)
            .collect();
        match ids.as_slice() {
            [] => Ok(None),
            [id] => Ok(Some(id.clone())),
            _ => Err(EngineError::Other(format!(
                "{} networks are named `{name}` ({}): remove the extra ones with `docker network rm <id>`",
                ids.len(),
                ids.join(", ")
            ))),
        }
    }

    /// Make sure the network of compose key `key` exists; returns its id and
    /// whether it was created now. External networks are only looked up.
    pub async fn ensure_network(
        &self,
        key: &str,
        spec: &Network,
        project: &str,
    ) -> Result<(String, bool), EngineError> {
        if let Some(id) = self.find_network(&spec.name).await? {
            return Ok((id, false));
        }
        if spec.external {
            return Err(EngineError::Other(format!(
                "external network `{}` (network `{key}`) does not exist: create it with `docker network create {}`",
                spec.name, spec.name
            )));
        }
        let request = network_request(key, spec, project);
        let created = self.docker.create_network(request).await?;
        if !created.warning.is_empty() {
            tracing::warn!(network = %spec.name, "{}", created.warning);
        }
        Ok((created.id, true))
    }

    /// Remove a network by name or id; a missing one is not an error.
    pub async fn remove_network(&self, name: &str) -> Result<(), EngineError> {
        match self.docker.remove_network(name).await {
            Err(err) if is_not_found(&err) => Ok(()),
            other => Ok(other?),
        }
    }

    /// Networks labelled with `project`.
    pub async fn list_project_networks(
        &self,
        project: &str,
    ) -> Result<Vec<ProjectNetwork>, EngineError> {
        let options = ListNetworksOptionsBuilder::new()
            .filters(&project_filter(project))
            .build();
        let networks = self.docker.list_networks(Some(options)).await?;
        Ok(networks
            .into_iter()
            .map(|network| {
                let labels = network.labels.unwrap_or_default();
                ProjectNetwork {
                    id: network.id.unwrap_or_default(),
                    name: network.name.unwrap_or_default(),
                    key: labels.get(labels::NETWORK).cloned(),
                    labels,
                }
            })
            .collect())
    }

    /// Make sure the volume of compose key `key` exists; returns its engine
    /// name and whether it was created now. External volumes are only checked.
    pub async fn ensure_volume(
        &self,
        key: &str,
        spec: &Volume,
        project: &str,
    ) -> Result<(String, bool), EngineError> {
        match self.docker.inspect_volume(&spec.name).await {
            Ok(volume) => return Ok((volume.name, false)),
            Err(err) if is_not_found(&err) => {}
            Err(err) => return Err(err.into()),
        }
        if spec.external {
            return Err(EngineError::Other(format!(
                "external volume `{}` (volume `{key}`) does not exist: create it with `docker volume create {}`",
                spec.name, spec.name
            )));
        }
        let request = VolumeCreateRequest {
            name: Some(spec.name.clone()),
            driver: (!spec.driver.is_empty()).then(|| spec.driver.clone()),
            driver_opts: (!spec.driver_opts.is_empty())
                .then(|| spec.driver_opts.clone().into_iter().collect()),
            labels: Some(object_labels(&spec.labels, project, labels::VOLUME, key)),
            ..Default::default()
        };
        let volume = self.docker.create_volume(request).await?;
        Ok((volume.name, true))
    }

    /// Remove a volume by name; a missing one is not an error, one in use is.
    pub async fn remove_volume(&self, name: &str) -> Result<(), EngineError> {
        let options = RemoveVolumeOptionsBuilder::new().force(false).build();
        match self.docker.remove_volume(name, Some(options)).await {
            Err(err) if is_not_found(&err) => Ok(()),
            other => Ok(other?),
        }
    }

    /// Volumes labelled with `project`.
    pub async fn list_project_volumes(
        &self,
        project: &str,
    ) -> Result<Vec<ProjectVolume>, EngineError> {
        let options = ListVolumesOptionsBuilder::new()
            .filters(&project_filter(project))
            .build();
        let answer = self.docker.list_volumes(Some(options)).await?;
        Ok(answer
            .volumes
            .unwrap_or_default()
            .into_iter()
            .map(|volume| ProjectVolume {
                key: volume.labels.get(labels::VOLUME).cloned(),
                name: volume.name,
                labels: volume.labels,
            })
            .collect())
    }
}

/// The create request of a project network: bridge unless a driver is given.
fn network_request(key: &str, spec: &Network, project: &str) -> NetworkCreateRequest {
    let ipam = (!spec.subnets.is_empty()).then(|| Ipam {
        config: Some(
            spec.subnets
                .iter()
                .map(|subnet| IpamConfig {
                    subnet: Some(subnet.clone()),
                    ..Default::default()
                })
                .collect(),
        ),
        ..Default::default()
    });
    NetworkCreateRequest {
        name: spec.name.clone(),
        driver: Some(if spec.driver.is_empty() {
            "bridge".to_string()
        } else {
            spec.driver.clone()
        }),
        internal: spec.internal.then_some(true),
        options: (!spec.driver_opts.is_empty())
            .then(|| spec.driver_opts.clone().into_iter().collect()),
        ipam,
        labels: Some(object_labels(&spec.labels, project, labels::NETWORK, key)),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_request_carries_labels_subnets_and_options() {
        let spec = Network {
            name: "demo_back".into(),
            internal: true,
            subnets: vec!["10.77.0.0/24".into()],
            driver_opts: [(
                "com.docker.network.bridge.name".to_string(),
                "br-x".to_string(),
            )]
            .into_iter()
            .collect(),
            ..Default::default()
        };
        let request = network_request("back", &spec, "demo");
        assert_eq!(request.driver.as_deref(), Some("bridge"));
        assert_eq!(request.internal, Some(true));
        let labels = request.labels.expect("labels");
        assert_eq!(labels[labels::PROJECT], "demo");
        assert_eq!(labels[labels::NETWORK], "back");
        assert_eq!(labels[labels::MANAGED_BY], "stackctl");
        let subnet = request.ipam.and_then(|i| i.config).expect("ipam")[0]
            .subnet
            .clone();
        assert_eq!(subnet.as_deref(), Some("10.77.0.0/24"));
        assert_eq!(request.options.expect("opts").len(), 1);
    }
}
