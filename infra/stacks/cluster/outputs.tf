output "cluster_name" {
  description = "Name of the cluster (`aws eks update-kubeconfig --name <this>`)."
  value       = module.eks.cluster_name
}

output "cluster_arn" {
  description = "ARN of the cluster."
  value       = module.eks.cluster_arn
}

output "cluster_endpoint" {
  description = "Endpoint of the Kubernetes API."
  value       = module.eks.cluster_endpoint
}

output "cluster_version" {
  description = "Kubernetes version."
  value       = module.eks.cluster_version
}

output "cluster_certificate_authority_data" {
  description = "Base64 CA certificate of the API."
  value       = module.eks.cluster_certificate_authority_data
}

output "cluster_oidc_issuer_url" {
  description = "OIDC issuer of the cluster (IRSA fallback; workloads here use Pod Identity)."
  value       = module.eks.cluster_oidc_issuer_url
}

output "pod_identity_role_arns" {
  description = "IAM roles of the workloads, keyed by workload; associated with their service accounts through EKS Pod Identity."
  value       = module.eks.pod_identity_role_arns
}

output "pod_identity_association_ids" {
  description = "Pod identity associations, keyed by workload."
  value       = module.eks.pod_identity_association_ids
}

output "node_security_group_id" {
  description = "Security group of the nodes (the database admits it)."
  value       = module.eks.node_security_group_id
}

output "kubeconfig_command" {
  description = "Command that writes a kubeconfig entry for the cluster."
  value       = "aws eks update-kubeconfig --region ${var.region} --name ${module.eks.cluster_name}"
}
